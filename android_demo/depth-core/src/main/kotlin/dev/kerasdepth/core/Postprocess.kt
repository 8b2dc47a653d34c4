package dev.kerasdepth.core

/**
 * Model output -> depth, as docs/contracts.md section 4 and `TFLiteDepthEstimator.run_tensor` /
 * `output_to_depth` do it. Depth maps are row-major FloatArrays; NaN marks an invalid pixel.
 */
object Postprocess {
    /** The raw output as float32 [h*w]: dequantized for integer outputs. */
    fun toFloat(output: Tensor, spec: OutputSpec): FloatArray {
        require(output.size == spec.width * spec.height) {
            "output has ${output.size} values, expected ${spec.width}x${spec.height} (output.height x output.width, 1 channel)"
        }
        require(output.dtype == spec.dtype) { "output dtype ${output.dtype.jsonName} disagrees with manifest output.dtype ${spec.dtype.jsonName}" }
        return when (output) {
            is Tensor.Bytes -> Quantize.dequantize(output, spec.quantization!!)
            is Tensor.Floats -> output.data.copyOf()
        }
    }

    /** Depth from the float output: itself for kind=depth, `1 / clip(d, lo, hi)` for kind=disparity,
     *  `exp(clip(l, lo, hi))` for kind=log_depth (keras_depth.spec.decode_output). */
    fun toDepth(y: FloatArray, spec: OutputSpec): FloatArray = when (spec.kind) {
        OutputKind.DEPTH -> y.copyOf()
        OutputKind.DISPARITY -> disparityToDepth(y, spec.rangeLo, spec.rangeHi)
        OutputKind.LOG_DEPTH -> logDepthToDepth(y, spec.rangeLo, spec.rangeHi)
    }

    /** `exp(clip(l, lo, hi))` in float32 (NaN stays NaN); lo and hi are ln of depth, so may be negative. */
    fun logDepthToDepth(logDepth: FloatArray, lo: Double, hi: Double): FloatArray {
        require(lo < hi) { "log-depth range must satisfy lo < hi, got [$lo, $hi]" }
        val l = lo.toFloat()
        val h = hi.toFloat()
        return FloatArray(logDepth.size) { val v = logDepth[it]; if (v.isNaN()) Float.NaN else kotlin.math.exp(v.coerceIn(l, h)) }
    }

    /** `1 / clip(d, lo, hi)` in float32 (NaN stays NaN). */
    fun disparityToDepth(disparity: FloatArray, lo: Double, hi: Double): FloatArray {
        require(lo > 0 && lo < hi) { "disparity range must satisfy 0 < lo < hi, got [$lo, $hi]" }
        val l = lo.toFloat()
        val h = hi.toFloat()
        return FloatArray(disparity.size) { val d = disparity[it]; if (d.isNaN()) Float.NaN else 1f / d.coerceIn(l, h) }
    }

    /** `1 / depth`; depth <= 0 or non-finite gives NaN (invalid), never infinity. */
    fun depthToDisparity(depth: FloatArray): FloatArray =
        FloatArray(depth.size) { val z = depth[it]; if (z > 0f && z.isFinite()) 1f / z else Float.NaN }

    /** Bilinear resize of a depth map to the display size (see [Resize.resizeFloat]). */
    fun resizeDepth(depth: FloatArray, width: Int, height: Int, dstWidth: Int, dstHeight: Int): FloatArray =
        Resize.resizeFloat(depth, width, height, dstWidth, dstHeight)
}
