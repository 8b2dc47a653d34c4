package dev.kerasdepth.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/** Returns a fixed output and records what it was fed. */
class FakeRunner(private val output: Tensor) : ModelRunner {
    val inputs = mutableListOf<Tensor>()
    var closed = false

    override fun run(input: Tensor): Tensor {
        check(!closed) { "runner used after close" }
        inputs += input
        return output
    }

    override fun close() {
        closed = true
    }
}

class EstimatorTest {
    private val manifest = TestSupport.tinyManifest() // uint8 4x4 in; uint8 disparity out, scale 0.05, zp 10, range [0.1, 10]

    @Test
    fun runsTheManifestPipelineAroundTheRunner() {
        val raw = ByteArray(16) { (10 + 20 * (it % 4)).toByte() } // disparity 0, 1, 2, 3 -> depth 10 (clipped), 1, 0.5, 1/3
        val runner = FakeRunner(Tensor.Bytes(raw, DType.UINT8))
        var now = 1_000_000L
        val est: DepthEstimator = ManifestDepthEstimator(manifest, runner) { now.also { now += 2_500_000L } }
        val frame = IntArray(16) { Pixels.argb(255, it, 2 * it, 255 - it) }
        val r = est.estimate(frame, 4, 4)
        val fed = runner.inputs.single() as Tensor.Bytes
        assertArrayEquals(IntArray(48) { i -> val p = i / 3; when (i % 3) { 0 -> p; 1 -> 2 * p; else -> 255 - p } }, fed.values())
        assertEquals(4, r.width)
        assertEquals(4, r.height)
        assertEquals(Semantics.RELATIVE, r.semantics)
        assertEquals(2.5, r.inferenceMs, 1e-9)
        assertArrayEquals(floatArrayOf(10f, 1f, 0.5f, 1f / 3), r.depth.copyOfRange(0, 4), 1e-6f)
        est.use { }
        assertTrue(runner.closed)
    }

    @Test
    fun largerFramesAreResizedFirst() {
        val runner = FakeRunner(Tensor.Bytes(ByteArray(16) { 30 }, DType.UINT8))
        ManifestDepthEstimator(manifest, runner).use { est ->
            val frame = IntArray(8 * 8) { Pixels.argb(255, 80, 160, 240) }
            val r = est.estimate(frame, 8, 8)
            assertArrayEquals(IntArray(48) { listOf(80, 160, 240)[it % 3] }, (runner.inputs.single() as Tensor.Bytes).values())
            assertTrue(r.depth.all { it == 1f })
        }
    }

    @Test
    fun wrongRunnerOutputIsReported() {
        val est = ManifestDepthEstimator(manifest, FakeRunner(Tensor.Bytes(ByteArray(9), DType.UINT8)))
        TestSupport.assertRejects("output has 9 values") { est.estimate(IntArray(16), 4, 4) }
    }
}
