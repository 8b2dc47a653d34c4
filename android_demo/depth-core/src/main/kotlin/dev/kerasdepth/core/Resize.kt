package dev.kerasdepth.core

import kotlin.math.floor
import kotlin.math.min

/**
 * Image resizing that follows OpenCV's `cv2.resize`, because the Python evaluator
 * (keras_depth/runtime/tflite.py `TFLiteDepthEstimator.preprocess`) resizes with it and the phone must feed
 * the model the same tensor.
 *
 * - [Interpolation.LINEAR]: half-pixel centres (`src = (dst + 0.5) * scale - 0.5`), edge pixels
 *   replicated, and for 8-bit images OpenCV's fixed-point weights (11 fractional bits per axis)
 *   and its SIMD vertical rounding. Against cv2 5.0 on x86 about 1% of values still differ by 1
 *   (mostly in the first and last rows); the golden-fixture test allows that.
 * - [Interpolation.AREA]: when shrinking on both axes, the exact pixel-area average
 *   (OpenCV `resizeArea`); otherwise OpenCV's bilinear variant with area-style coefficients.
 */
enum class Interpolation { LINEAR, AREA }

object Resize {
    private const val COEF_BITS = 11
    private const val COEF_SCALE = 1 shl COEF_BITS

    /** The interpolation `TFLiteDepthEstimator.preprocess` picks: AREA when the frame is taller than the input. */
    fun interpolationFor(srcHeight: Int, dstHeight: Int): Interpolation =
        if (srcHeight > dstHeight) Interpolation.AREA else Interpolation.LINEAR

    /**
     * Resizes an interleaved 8-bit image ([src] holds values 0..255, `cn` per pixel, row-major)
     * from sw×sh to dw×dh.
     */
    fun resizeU8(src: IntArray, sw: Int, sh: Int, cn: Int, dw: Int, dh: Int, interpolation: Interpolation): IntArray {
        require(sw > 0 && sh > 0 && dw > 0 && dh > 0 && cn > 0) { "sizes must be positive: ${sw}x$sh -> ${dw}x$dh, cn=$cn" }
        require(src.size == sw * sh * cn) { "src has ${src.size} values, expected ${sw}x${sh}x$cn" }
        if (sw == dw && sh == dh) return src.copyOf()
        val scaleX = sw.toDouble() / dw
        val scaleY = sh.toDouble() / dh
        if (interpolation == Interpolation.AREA && scaleX >= 1 && scaleY >= 1) return resizeArea(src, sw, sh, cn, dw, dh)
        val areaMode = interpolation == Interpolation.AREA
        val (xofs, xalpha) = linearTab(sw, dw, areaMode)
        val (yofs, yalpha) = linearTab(sh, dh, areaMode)
        val out = IntArray(dw * dh * cn)
        val row0 = IntArray(dw * cn)
        val row1 = IntArray(dw * cn)
        for (dy in 0 until dh) {
            hresize(src, yofs[dy], sw, cn, dw, xofs, xalpha, row0)
            hresize(src, min(yofs[dy] + 1, sh - 1), sw, cn, dw, xofs, xalpha, row1)
            val b1 = yalpha[dy] and 0xFFFF
            val b0 = yalpha[dy] ushr 16
            val base = dy * dw * cn
            for (i in 0 until dw * cn) {
                // OpenCV's SIMD vertical pass (VResizeLinearVec_32s8u: 16-bit multiply-high, then a
                // rounding shift by 2), which is what cv2.resize runs on x86 and ARM. Its scalar
                // fallback, (r0*b0 + r1*b1 + 2^21) >> 22, equals INTER_LINEAR_EXACT instead.
                val v = ((((row0[i] shr 4) * b0) shr 16) + (((row1[i] shr 4) * b1) shr 16) + 2) shr 2
                out[base + i] = v.coerceIn(0, 255)
            }
        }
        return out
    }

    /** Per destination index: first source index and the fixed-point weight of the second one. */
    private fun linearTab(ssize: Int, dsize: Int, areaMode: Boolean): Pair<IntArray, IntArray> {
        val inv = dsize.toDouble() / ssize
        val scale = 1.0 / inv
        val ofs = IntArray(dsize)
        val alpha = IntArray(dsize)
        for (d in 0 until dsize) {
            var s: Int
            var f: Float
            if (!areaMode) {
                f = ((d + 0.5) * scale - 0.5).toFloat()
                s = floor(f.toDouble()).toInt()
                f -= s
            } else {
                s = floor(d * scale).toInt()
                f = ((d + 1) - (s + 1) * inv).toFloat()
                f = if (f <= 0f) 0f else f - floor(f.toDouble()).toFloat()
            }
            if (s < 0) { f = 0f; s = 0 }
            if (s >= ssize - 1) { f = 0f; s = ssize - 1 }
            ofs[d] = s
            // saturate_cast<short>(cbuf[k] * INTER_RESIZE_COEF_SCALE), i.e. round half to even.
            val a0 = Math.rint(((1f - f) * COEF_SCALE).toDouble()).toInt()
            val a1 = Math.rint((f * COEF_SCALE).toDouble()).toInt()
            // Keep OpenCV's two rounded weights (their sum may be off 2048 by one).
            alpha[d] = a1 or (a0 shl 16)
        }
        return ofs to alpha
    }

    private fun hresize(src: IntArray, sy: Int, sw: Int, cn: Int, dw: Int, xofs: IntArray, xalpha: IntArray, dst: IntArray) {
        val rowBase = sy * sw * cn
        for (dx in 0 until dw) {
            val sx = xofs[dx]
            val a1 = xalpha[dx] and 0xFFFF
            val a0 = xalpha[dx] ushr 16
            val sx1 = min(sx + 1, sw - 1)
            for (c in 0 until cn) {
                dst[dx * cn + c] = src[rowBase + sx * cn + c] * a0 + src[rowBase + sx1 * cn + c] * a1
            }
        }
    }

    private class AreaTab(val di: IntArray, val si: IntArray, val alpha: FloatArray, val n: Int)

    // OpenCV computeResizeAreaTab.
    private fun areaTab(ssize: Int, dsize: Int, scale: Double): AreaTab {
        val di = IntArray(ssize * 2 + 2)
        val si = IntArray(ssize * 2 + 2)
        val al = FloatArray(ssize * 2 + 2)
        var k = 0
        for (dx in 0 until dsize) {
            val fsx1 = dx * scale
            val fsx2 = fsx1 + scale
            val cellWidth = min(scale, ssize - fsx1)
            var sx1 = Math.ceil(fsx1).toInt()
            var sx2 = floor(fsx2).toInt()
            sx2 = min(sx2, ssize - 1)
            sx1 = min(sx1, sx2)
            if (sx1 - fsx1 > 1e-3) { di[k] = dx; si[k] = sx1 - 1; al[k++] = ((sx1 - fsx1) / cellWidth).toFloat() }
            for (sx in sx1 until sx2) { di[k] = dx; si[k] = sx; al[k++] = (1.0 / cellWidth).toFloat() }
            if (fsx2 - sx2 > 1e-3) { di[k] = dx; si[k] = sx2; al[k++] = (min(min(fsx2 - sx2, 1.0), cellWidth) / cellWidth).toFloat() }
        }
        return AreaTab(di, si, al, k)
    }

    private fun resizeArea(src: IntArray, sw: Int, sh: Int, cn: Int, dw: Int, dh: Int): IntArray {
        val xt = areaTab(sw, dw, sw.toDouble() / dw)
        val yt = areaTab(sh, dh, sh.toDouble() / dh)
        val out = IntArray(dw * dh * cn)
        val buf = FloatArray(dw * cn)
        val sum = FloatArray(dw * cn)
        var prevDy = -1
        for (k in 0 until yt.n) {
            val dy = yt.di[k]
            val sy = yt.si[k]
            val beta = yt.alpha[k]
            buf.fill(0f)
            for (j in 0 until xt.n) {
                val dx = xt.di[j]
                val w = xt.alpha[j]
                val sBase = (sy * sw + xt.si[j]) * cn
                for (c in 0 until cn) buf[dx * cn + c] += src[sBase + c] * w
            }
            if (dy != prevDy) {
                if (prevDy >= 0) flushArea(sum, out, prevDy, dw * cn)
                for (i in sum.indices) sum[i] = buf[i] * beta
                prevDy = dy
            } else {
                for (i in sum.indices) sum[i] += buf[i] * beta
            }
        }
        flushArea(sum, out, prevDy, dw * cn)
        return out
    }

    private fun flushArea(sum: FloatArray, out: IntArray, dy: Int, rowLen: Int) {
        for (i in 0 until rowLen) out[dy * rowLen + i] = Math.rint(sum[i].toDouble()).toInt().coerceIn(0, 255)
    }

    /**
     * Bilinear resize of a float map (e.g. depth) with half-pixel centres and replicated edges,
     * like `cv2.resize(..., INTER_LINEAR)` on float32. NaN propagates to its neighbours.
     */
    fun resizeFloat(src: FloatArray, sw: Int, sh: Int, dw: Int, dh: Int): FloatArray {
        require(sw > 0 && sh > 0 && dw > 0 && dh > 0) { "sizes must be positive: ${sw}x$sh -> ${dw}x$dh" }
        require(src.size == sw * sh) { "src has ${src.size} values, expected ${sw}x$sh" }
        if (sw == dw && sh == dh) return src.copyOf()
        val xs = IntArray(dw)
        val xf = FloatArray(dw)
        for (d in 0 until dw) { val (s, f) = linearPos(d, sw, dw); xs[d] = s; xf[d] = f }
        val out = FloatArray(dw * dh)
        for (dy in 0 until dh) {
            val (sy, fy) = linearPos(dy, sh, dh)
            val sy1 = min(sy + 1, sh - 1)
            for (dx in 0 until dw) {
                val sx = xs[dx]
                val sx1 = min(sx + 1, sw - 1)
                val fx = xf[dx]
                val top = src[sy * sw + sx] * (1f - fx) + src[sy * sw + sx1] * fx
                val bot = src[sy1 * sw + sx] * (1f - fx) + src[sy1 * sw + sx1] * fx
                out[dy * dw + dx] = top * (1f - fy) + bot * fy
            }
        }
        return out
    }

    private fun linearPos(d: Int, ssize: Int, dsize: Int): Pair<Int, Float> {
        val scale = ssize.toDouble() / dsize
        var f = ((d + 0.5) * scale - 0.5).toFloat()
        var s = floor(f.toDouble()).toInt()
        f -= s
        if (s < 0) { f = 0f; s = 0 }
        if (s >= ssize - 1) { f = 0f; s = ssize - 1 }
        return s to f
    }
}
