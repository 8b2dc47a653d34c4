package dev.kerasdepth.core

import dev.kerasdepth.core.TestSupport.assertArrayClose
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import kotlin.math.abs

/**
 * Golden fixtures written by export/fixtures.py from a real int8 TFLite model through
 * keras_depth.runtime.tflite.TFLiteDepthEstimator (cv2 resize, numpy quantization). Regenerate with
 * `keras-depth fixtures --tiny android_demo/depth-core/src/test/resources/fixtures`;
 * tests/test_android_fixtures.py checks they are current.
 */
class GoldenFixtureTest {
    private fun load(name: String): Map<*, *> = Json.parse(TestSupport.resource("/fixtures/$name")) as Map<*, *>

    private fun Map<*, *>.ints(key: String): IntArray = (this[key] as List<*>).map { (it as Double).toLong().toInt() }.toIntArray()
    private fun Map<*, *>.floats(key: String): FloatArray =
        (this[key] as List<*>).map { (it as Double?)?.toFloat() ?: Float.POSITIVE_INFINITY }.toFloatArray()
    private fun Map<*, *>.int(key: String): Int = (this[key] as Double).toInt()

    private val manifest = Manifest.parse(TestSupport.resource("/fixtures/manifest.json"), "fixtures/manifest.json")

    /** Resize rounding may differ from OpenCV's SIMD path by one; allow ±1, but only on a few values. */
    private fun assertWithinOneLsb(expected: IntArray, actual: IntArray, what: String) {
        assertEquals("$what size", expected.size, actual.size)
        var off = 0
        for (i in expected.indices) {
            val d = abs(expected[i] - actual[i])
            assertTrue("$what[$i]: expected ${expected[i]}, got ${actual[i]}", d <= 1)
            if (d == 1) off++
        }
        assertTrue("$what: $off of ${expected.size} values off by one (at most 2% allowed)", off * 50 <= expected.size)
    }

    @Test
    fun realManifestParses() {
        assertEquals(DType.UINT8, manifest.input.dtype)
        assertEquals(DType.UINT8, manifest.output.dtype)
        assertEquals(OutputKind.DISPARITY, manifest.output.kind)
        assertTrue(manifest.input.quantization != null && manifest.output.quantization != null)
    }

    @Test
    fun preprocessingMatchesPythonRuntime() {
        val pre = Preprocessor(manifest.input)
        val cases = load("preprocess.json")["cases"] as List<*>
        assertEquals(2, cases.size)
        for (c in cases) {
            c as Map<*, *>
            val name = c["name"] as String
            val w = c.int("width")
            val h = c.int("height")
            val argb = c.ints("argb")
            assertWithinOneLsb(c.ints("resized_rgb"), pre.resizedRgb(argb, w, h), "$name resized")
            val t = pre.toTensor(argb, w, h) as Tensor.Bytes
            assertEquals(c["tensor_dtype"], t.dtype.jsonName)
            assertWithinOneLsb(c.ints("tensor"), t.values(), "$name tensor")
        }
    }

    @Test
    fun postprocessingMatchesPythonRuntime() {
        val p = load("postprocess.json")
        val raw = p.ints("raw_output")
        val out = Tensor.Bytes(ByteArray(raw.size) { raw[it].toByte() }, DType.of(p["raw_dtype"] as String)!!)
        val y = Postprocess.toFloat(out, manifest.output)
        assertArrayClose(p.floats("dequantized"), y, 1e-6f, what = "dequantized")
        assertArrayClose(p.floats("depth"), Postprocess.toDepth(y, manifest.output), 1e-5f, what = "depth")
    }

    @Test
    fun estimatorWithRecordedOutputMatchesEndToEnd() {
        val case = (load("preprocess.json")["cases"] as List<*>)[0] as Map<*, *>
        val p = load("postprocess.json")
        val raw = p.ints("raw_output")
        val runner = FakeRunner(Tensor.Bytes(ByteArray(raw.size) { raw[it].toByte() }, manifest.output.dtype))
        ManifestDepthEstimator(manifest, runner).use { est ->
            val r = est.estimate(case.ints("argb"), case.int("width"), case.int("height"))
            assertWithinOneLsb(case.ints("tensor"), (runner.inputs.single() as Tensor.Bytes).values(), "fed tensor")
            assertEquals(p.int("width"), r.width)
            assertEquals(p.int("height"), r.height)
            assertArrayClose(p.floats("depth"), r.depth, 1e-5f, what = "depth")
        }
    }

    /** decode.json: every output kind (depth, disparity, log_depth) x dtype, decoded by Python's decode_output. */
    @Test
    fun decodingPerEncodingMatchesPython() {
        val cases = load("decode.json")["cases"] as List<*>
        assertEquals(9, cases.size)
        for (c in cases) {
            c as Map<*, *>
            val name = c["name"] as String
            val dtype = DType.of(c["dtype"] as String)!!
            val kind = OutputKind.values().first { it.jsonName == c["kind"] }
            val range = (c["range"] as List<*>).map { it as Double }
            val n = (c["raw"] as List<*>).size
            val tensor = if (dtype == DType.FLOAT32) Tensor.Floats(c.floats("raw"))
                else c.ints("raw").let { r -> Tensor.Bytes(ByteArray(n) { r[it].toByte() }, dtype) }
            val q = if (dtype == DType.FLOAT32) null else Quantization(c["scale"] as Double, c.int("zero_point"))
            val spec = OutputSpec(1, n, kind, Semantics.METRIC, "m", range, dtype, q)
            val y = Postprocess.toFloat(tensor, spec)
            assertArrayClose(c.floats("dequantized"), y, 1e-6f, 1e-6f, "$name dequantized")
            assertArrayClose(c.floats("depth"), Postprocess.toDepth(y, spec), 1e-5f, what = "$name depth")
        }
    }

    @Test
    fun occlusionMatchesReference() {
        val o = load("occlusion.json")
        val w = o.int("width")
        val h = o.int("height")
        val obj = RenderedObject(o.ints("object_argb"), o.floats("object_depth"), w, h)
        val r = Occlusion.composite(o.ints("background"), o.floats("scene_depth"), obj)
        val visible = o.ints("visible")
        assertArrayEquals(BooleanArray(visible.size) { visible[it] == 1 }, r.visible)
        assertArrayEquals(o.ints("composited"), r.argb)
        assertTrue("fixture should have both visible and hidden object pixels", r.visibleCount in 1 until obj.depth.count { it.isFinite() })
    }
}
