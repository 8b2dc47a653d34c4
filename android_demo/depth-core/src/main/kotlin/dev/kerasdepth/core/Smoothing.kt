package dev.kerasdepth.core

/**
 * Exponential moving average across frames, `s = alpha * x + (1 - alpha) * s_prev`, for the
 * per-frame scale/shift alignment and for per-pixel disparity. Smoothing disparity rather than
 * depth keeps far pixels from dominating. The first frame (or the first after [reset], or after
 * the map size changes) is taken as is. NaN pixels leave the state unchanged, and a pixel whose
 * state is NaN takes the new value.
 */
class TemporalSmoother(val alpha: Float) {
    init { require(alpha > 0f && alpha <= 1f) { "smoothing alpha must be in (0, 1], got $alpha" } }

    private var alignment: Alignment? = null
    private var disparity: FloatArray? = null

    fun reset() {
        alignment = null
        disparity = null
    }

    fun smoothAlignment(a: Alignment): Alignment {
        val prev = alignment
        val next = if (prev == null) a else Alignment(
            scale = alpha * a.scale + (1 - alpha) * prev.scale,
            shift = alpha * a.shift + (1 - alpha) * prev.shift,
        )
        alignment = next
        return next
    }

    fun smoothDisparity(d: FloatArray): FloatArray {
        val prev = disparity
        val next = if (prev == null || prev.size != d.size) d.copyOf() else FloatArray(d.size) {
            val x = d[it]
            val p = prev[it]
            when {
                x.isNaN() -> p
                p.isNaN() -> x
                else -> alpha * x + (1 - alpha) * p
            }
        }
        disparity = next
        return next.copyOf()
    }
}
