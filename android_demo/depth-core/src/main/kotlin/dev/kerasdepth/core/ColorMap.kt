package dev.kerasdepth.core

import kotlin.math.roundToInt

/**
 * Depth -> ARGB with Turbo (Mikhailov 2019), via Google's published degree-5 polynomial fit
 * (max error about 0.03 per channel against the LUT), so no table ships with the code.
 * Near is red, far is dark blue; invalid depth (NaN, <= 0, infinite) is fully transparent.
 */
class DepthColorMap(
    val near: Float,
    val far: Float,
    /** Colour by 1/depth, which spends more colours on the near range (what AR users look at). */
    val inverseDepth: Boolean = true,
    val alpha: Int = 0xFF,
) {
    init {
        require(near > 0f && near < far && far.isFinite()) { "colour map needs 0 < near < far, got near=$near far=$far" }
        require(alpha in 0..255) { "alpha must be 0..255, got $alpha" }
    }

    /** 0 at far, 1 at near, clamped. */
    fun nearness(depth: Float): Float {
        val t = if (inverseDepth) (1f / depth - 1f / far) / (1f / near - 1f / far) else (far - depth) / (far - near)
        return t.coerceIn(0f, 1f)
    }

    fun color(depth: Float): Int {
        if (!(depth > 0f) || !depth.isFinite()) return 0
        return turbo(nearness(depth), alpha)
    }

    fun colorize(depth: FloatArray): IntArray = IntArray(depth.size) { color(depth[it]) }

    companion object {
        /** Turbo at t in [0, 1] (0 dark blue .. 1 dark red) as 0xAARRGGBB. */
        fun turbo(t: Float, alpha: Int = 0xFF): Int {
            val x = t.coerceIn(0f, 1f).toDouble()
            val x2 = x * x
            val x3 = x2 * x
            val x4 = x2 * x2
            val x5 = x4 * x
            val r = 0.13572138 + 4.61539260 * x - 42.66032258 * x2 + 132.13108234 * x3 - 152.94239396 * x4 + 59.28637943 * x5
            val g = 0.09140261 + 2.19418839 * x + 4.84296658 * x2 - 14.18503333 * x3 + 4.27729857 * x4 + 2.82956604 * x5
            val b = 0.10667330 + 12.64194608 * x - 60.58204836 * x2 + 110.36276771 * x3 - 89.90310912 * x4 + 27.34824973 * x5
            return Pixels.argb(alpha, channel(r), channel(g), channel(b))
        }

        private fun channel(v: Double): Int = (v.coerceIn(0.0, 1.0) * 255.0).roundToInt()
    }
}
