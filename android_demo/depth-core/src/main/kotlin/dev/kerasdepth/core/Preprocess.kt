package dev.kerasdepth.core

/**
 * Camera frame -> model input tensor, exactly as docs/contracts.md section 4 and
 * `TFLiteDepthEstimator.preprocess` do it: resize (cv2 semantics, see [Resize]) to the input size,
 * reorder channels, `x = pixel * scale + offset` in float32, then for integer inputs
 * `round_half_even(x / q.scale) + q.zero_point` clamped to the dtype (numpy `np.round` + `np.clip`).
 */
class Preprocessor(val spec: InputSpec) {
    init {
        require(spec.channels == 3) { "input.channels must be 3, got ${spec.channels}" }
        require(spec.layout == "NHWC") { "input.layout must be NHWC, got ${spec.layout}" }
    }

    private val scale = FloatArray(3) { spec.normalization.scale[it].toFloat() }
    private val offset = FloatArray(3) { spec.normalization.offset[it].toFloat() }

    /**
     * [argb]: a width×height frame in `Bitmap.getPixels` layout (0xAARRGGBB, row-major; alpha ignored).
     * The frame may be any size; it is resized here.
     */
    fun toTensor(argb: IntArray, width: Int, height: Int): Tensor {
        val rgb = resizedRgb(argb, width, height)
        return normalize(rgb)
    }

    /** The resized RGB bytes (0..255 ints, interleaved, in RGB order) the model input is computed from. */
    fun resizedRgb(argb: IntArray, width: Int, height: Int): IntArray {
        val rgb = Pixels.argbToRgb(argb, width, height)
        if (width == spec.width && height == spec.height) return rgb
        val interp = Resize.interpolationFor(height, spec.height)
        return Resize.resizeU8(rgb, width, height, 3, spec.width, spec.height, interp)
    }

    /** RGB ints (already input-sized) -> tensor in the manifest's dtype. */
    fun normalize(rgb: IntArray): Tensor {
        val n = spec.width * spec.height
        require(rgb.size == n * 3) { "expected ${spec.width}x${spec.height}x3 RGB values, got ${rgb.size}" }
        val bgr = spec.channelOrder == ChannelOrder.BGR
        val x = FloatArray(n * 3)
        for (p in 0 until n) {
            for (c in 0 until 3) {
                val srcC = if (bgr) 2 - c else c
                x[p * 3 + c] = rgb[p * 3 + srcC].toFloat() * scale[c] + offset[c]
            }
        }
        if (!spec.dtype.isInteger) return Tensor.Floats(x, spec.dtype)
        val q = spec.quantization!!
        return Tensor.Bytes(Quantize.quantize(x, q, spec.dtype), spec.dtype)
    }
}

object Pixels {
    /** 0xAARRGGBB ints -> interleaved R, G, B ints (0..255). */
    fun argbToRgb(argb: IntArray, width: Int, height: Int): IntArray {
        require(width > 0 && height > 0) { "frame size must be positive, got ${width}x$height" }
        require(argb.size == width * height) { "argb has ${argb.size} pixels, expected ${width}x$height" }
        val out = IntArray(argb.size * 3)
        for (i in argb.indices) {
            val p = argb[i]
            out[i * 3] = (p shr 16) and 0xFF
            out[i * 3 + 1] = (p shr 8) and 0xFF
            out[i * 3 + 2] = p and 0xFF
        }
        return out
    }

    fun argb(a: Int, r: Int, g: Int, b: Int): Int = (a shl 24) or (r shl 16) or (g shl 8) or b
}

object Quantize {
    /** numpy `np.clip(np.round(x / scale) + zero_point, min, max)` in float32, round half to even. */
    fun quantize(x: FloatArray, q: Quantization, dtype: DType): ByteArray {
        require(dtype.isInteger) { "quantize needs uint8 or int8, got ${dtype.jsonName}" }
        val s = q.scale.toFloat()
        val zp = q.zeroPoint.toFloat()
        return ByteArray(x.size) {
            val v = (Math.rint((x[it] / s).toDouble()).toFloat() + zp)
            val c = if (v.isNaN()) dtype.minValue else v.coerceIn(dtype.minValue.toFloat(), dtype.maxValue.toFloat()).toInt()
            c.toByte()
        }
    }

    /** `(q - zero_point) * scale` in float32. */
    fun dequantize(t: Tensor.Bytes, q: Quantization): FloatArray {
        val s = q.scale.toFloat()
        return FloatArray(t.size) { (t.valueAt(it) - q.zeroPoint).toFloat() * s }
    }
}
