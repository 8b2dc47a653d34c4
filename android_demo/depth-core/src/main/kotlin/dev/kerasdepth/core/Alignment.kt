package dev.kerasdepth.core

/** A sparse metric depth sample at pixel (x, y) of the depth map, e.g. an AR plane hit. */
data class MetricPoint(val x: Int, val y: Int, val depth: Float)

/** Maps relative disparity to metric disparity: `metric = scale * relative + shift`. */
data class Alignment(val scale: Double, val shift: Double) {
    /** Metric depth `1 / (scale * d + shift)`; non-positive or non-finite results are NaN (invalid). */
    fun depthFromDisparity(relative: FloatArray): FloatArray = FloatArray(relative.size) {
        val m = scale * relative[it] + shift
        if (m > 0 && m.isFinite()) (1.0 / m).toFloat() else Float.NaN
    }

    companion object {
        val IDENTITY = Alignment(1.0, 0.0)

        /**
         * Least-squares scale and shift so that `scale * relDisparity[p] + shift ≈ 1 / p.depth`
         * (MiDaS-style affine-invariant disparity). Points off the map, with invalid depth or with
         * a NaN prediction are skipped; at least two usable points with distinct predictions are needed.
         */
        fun fitScaleShift(relDisparity: FloatArray, width: Int, height: Int, points: List<MetricPoint>): Alignment {
            require(relDisparity.size == width * height) { "disparity has ${relDisparity.size} values, expected ${width}x$height" }
            var n = 0
            var sx = 0.0; var sy = 0.0; var sxx = 0.0; var sxy = 0.0
            for (p in points) {
                val x = sampleAt(relDisparity, width, height, p) ?: continue
                val y = 1.0 / p.depth
                n++; sx += x; sy += y; sxx += x * x; sxy += x * y
            }
            require(n >= 2) { "scale/shift fit needs at least 2 valid points, got $n" }
            val det = n * sxx - sx * sx
            require(det > 1e-12 * n * n * (1 + sxx / n)) { "scale/shift fit is degenerate: the points' predicted disparities are all equal" }
            val scale = (n * sxy - sx * sy) / det
            val shift = (sy - scale * sx) / n
            return Alignment(scale, shift)
        }

        /**
         * The median of `p.depth / relDepth[p]` over the points: one anchor is enough. For models whose
         * output is depth up to scale (no shift). Returns the factor to multiply relative depth by.
         */
        fun medianScale(relDepth: FloatArray, width: Int, height: Int, points: List<MetricPoint>): Double {
            require(relDepth.size == width * height) { "depth has ${relDepth.size} values, expected ${width}x$height" }
            val ratios = points.mapNotNull { p ->
                val d = sampleAt(relDepth, width, height, p) ?: return@mapNotNull null
                if (d > 0) p.depth / d else null
            }.sorted()
            require(ratios.isNotEmpty()) { "median scale needs at least 1 valid point" }
            val m = ratios.size / 2
            return if (ratios.size % 2 == 1) ratios[m] else 0.5 * (ratios[m - 1] + ratios[m])
        }

        private fun sampleAt(map: FloatArray, width: Int, height: Int, p: MetricPoint): Double? {
            if (p.x !in 0 until width || p.y !in 0 until height) return null
            if (!(p.depth > 0f) || !p.depth.isFinite()) return null
            val v = map[p.y * width + p.x]
            return if (v.isFinite()) v.toDouble() else null
        }
    }
}
