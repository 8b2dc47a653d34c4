package dev.kerasdepth.core

/** One depth map at the model's output resolution; NaN marks invalid pixels. */
data class DepthResult(
    val depth: FloatArray,
    val width: Int,
    val height: Int,
    /** Metric metres, or known only up to scale (relative) / scale and shift (affine_disparity). */
    val semantics: Semantics,
    val inferenceMs: Double,
) {
    init { require(depth.size == width * height) { "depth has ${depth.size} values, expected ${width}x$height" } }

    override fun equals(other: Any?): Boolean = other is DepthResult && width == other.width && height == other.height &&
        semantics == other.semantics && inferenceMs == other.inferenceMs && depth.contentEquals(other.depth)

    override fun hashCode(): Int = ((31 * width + height) * 31 + semantics.hashCode()) * 31 + depth.contentHashCode()
}

/** Camera frame in, depth out. The app's LiteRT-backed one and the tests' fakes both implement it. */
interface DepthEstimator : AutoCloseable {
    val manifest: Manifest

    /** [argb]: a width×height frame in `Bitmap.getPixels` layout (0xAARRGGBB), any size. */
    fun estimate(argb: IntArray, width: Int, height: Int): DepthResult
}

/**
 * The one call that needs an inference engine: input tensor in, raw output tensor out
 * (in the manifest's dtypes, batch 1, NHWC). The app implements it with LiteRT.
 */
interface ModelRunner : AutoCloseable {
    fun run(input: Tensor): Tensor
}

/** Everything between the frame and the depth map, driven by the manifest; only [runner] touches the model. */
class ManifestDepthEstimator(
    override val manifest: Manifest,
    private val runner: ModelRunner,
    private val clockNanos: () -> Long = System::nanoTime,
) : DepthEstimator {
    private val preprocessor = Preprocessor(manifest.input)

    override fun estimate(argb: IntArray, width: Int, height: Int): DepthResult {
        val input = preprocessor.toTensor(argb, width, height)
        val t0 = clockNanos()
        val output = runner.run(input)
        val ms = (clockNanos() - t0) / 1e6
        val out = manifest.output
        val depth = Postprocess.toDepth(Postprocess.toFloat(output, out), out)
        return DepthResult(depth, out.width, out.height, out.semantics, ms)
    }

    override fun close() = runner.close()
}
