package dev.kerasdepth.core

import kotlin.math.abs
import kotlin.math.exp
import kotlin.math.ln

/** A sparse metric depth sample at pixel (x, y) of the depth map, e.g. an AR plane hit. */
data class MetricPoint(val x: Int, val y: Int, val depth: Float)

/**
 * Maps relative disparity to metric disparity: `metric = scale * relative + shift`, as
 * TemporalSmoother smooths it; the fit is SparseAlignment's.
 */
data class Alignment(val scale: Double, val shift: Double)

/** `scale * prediction + shift` is metric: depth for depth models, disparity for disparity models. */
data class PointFit(val scale: Double, val shift: Double, val space: String, val inliers: Int, val points: Int) {
    /** Metric depth from the model's prediction; NaN where an aligned disparity is not positive. */
    fun apply(prediction: FloatArray): FloatArray = FloatArray(prediction.size) {
        val v = scale * prediction[it] + shift
        when {
            space == "depth" -> v.toFloat()
            v > 0 && v.isFinite() -> (1.0 / v).toFloat()
            else -> Float.NaN
        }
    }
}

/**
 * Metric scale from N sparse metric points, the same fit as keras_depth/alignment.py (checked on the
 * shared fixture sparse_alignment.json): the median-ratio scale refined over its inliers for depth
 * models; RANSAC over least squares for scale and shift in disparity (all pairs up to 30 points, LCG
 * pairs above). A point is an inlier when the fit predicts its depth within `tau` (relative).
 * Degenerate input throws IllegalArgumentException with the reason.
 */
object SparseAlignment {
    const val INLIER_TAU = 0.2
    private const val ALL_PAIRS_UP_TO = 30
    private const val RANSAC_PAIRS = 500
    private const val LCG_A = 1664525L
    private const val LCG_C = 1013904223L
    private const val LCG_SEED = 12345L

    fun fit(prediction: FloatArray, width: Int, height: Int, points: List<MetricPoint>, semantics: String,
            tau: Double = INLIER_TAU): PointFit = fit(prediction, width, height, IntArray(points.size) { points[it].x },
        IntArray(points.size) { points[it].y }, DoubleArray(points.size) { points[it].depth.toDouble() }, semantics, tau)

    fun fit(prediction: FloatArray, width: Int, height: Int, xs: IntArray, ys: IntArray, depths: DoubleArray,
            semantics: String, tau: Double = INLIER_TAU): PointFit {
        require(prediction.size == width * height) { "prediction has ${prediction.size} values, expected ${width}x$height" }
        val n = depths.size
        require(n > 0) { "sparse alignment: no points given (N = 0)" }
        for (i in 0 until n) {
            require(xs[i] in 0 until width && ys[i] in 0 until height) {
                "sparse alignment: point $i at (${xs[i]}, ${ys[i]}) lies outside the ${width}x$height image"
            }
            require(depths[i] > 0 && depths[i].isFinite()) { "sparse alignment: point $i has depth ${depths[i]}; depths must be positive metres" }
        }
        val at = DoubleArray(n) { prediction[ys[it] * width + xs[it]].toDouble() }
        return when (semantics) {
            "metric", "relative" -> depthScale(at, depths, tau)
            "affine_disparity" -> disparityScaleShift(at, depths, tau)
            else -> throw IllegalArgumentException("sparse alignment: unknown semantics '$semantics'")
        }
    }

    private fun depthScale(pred: DoubleArray, depth: DoubleArray, tau: Double): PointFit {
        val ratios = pred.indices.filter { pred[it] > 0 && pred[it].isFinite() }.map { depth[it] / pred[it] }
        require(ratios.isNotEmpty()) { "sparse alignment: the prediction has no finite positive depth at any of the points" }
        val sorted = ratios.sorted()
        val m = sorted.size / 2
        val median = if (sorted.size % 2 == 1) sorted[m] else 0.5 * (sorted[m - 1] + sorted[m])
        val inliers = ratios.filter { abs(it / median - 1.0) <= tau }
        if (inliers.isEmpty()) return PointFit(median, 0.0, "depth", 0, depth.size)
        val scale = exp(inliers.sumOf { ln(it) } / inliers.size)
        return PointFit(scale, 0.0, "depth", inliers.size, depth.size)
    }

    /** `|predicted depth / depth - 1|` of the disparity line at each point; +inf where its disparity is not positive. */
    fun depthResiduals(scale: Double, shift: Double, x: DoubleArray, depth: DoubleArray): DoubleArray = DoubleArray(x.size) {
        val d = scale * x[it] + shift
        if (d > 0) abs(1.0 / (d * depth[it]) - 1.0) else Double.POSITIVE_INFINITY
    }

    /** All pairs i < j up to 30 points, else `count` LCG pairs of distinct indices (as alignment.lcg_pairs). */
    fun pairs(n: Int, count: Int = RANSAC_PAIRS): List<Pair<Int, Int>> {
        if (n <= ALL_PAIRS_UP_TO) return (0 until n).flatMap { i -> (i + 1 until n).map { j -> i to j } }
        var state = LCG_SEED
        val out = ArrayList<Pair<Int, Int>>(count)
        while (out.size < count) {
            state = (LCG_A * state + LCG_C) and 0xFFFFFFFFL
            val i = ((state ushr 8) % n).toInt()
            state = (LCG_A * state + LCG_C) and 0xFFFFFFFFL
            val j = ((state ushr 8) % n).toInt()
            if (i != j) out.add(i to j)
        }
        return out
    }

    private fun disparityScaleShift(predAll: DoubleArray, depthAll: DoubleArray, tau: Double): PointFit {
        val keep = predAll.indices.filter { predAll[it].isFinite() }
        val x = DoubleArray(keep.size) { predAll[keep[it]] }
        val depth = DoubleArray(keep.size) { depthAll[keep[it]] }
        val n = x.size
        require(n > 0) { "sparse alignment: the prediction is not finite at any of the points" }
        val y = DoubleArray(n) { 1.0 / depth[it] }
        if (n == 1) {
            require(x[0] > 0) { "sparse alignment: one point, and the predicted disparity there is not positive" }
            return PointFit(y[0] / x[0], 0.0, "disparity", 1, 1)
        }
        require(depth.max() - depth.min() > 1e-6 * depth.max()) {
            "sparse alignment: all $n points lie at one depth: scale and shift are not determined"
        }
        require(x.max() - x.min() > 1e-9 * maxOf(x.maxOf { abs(it) }, 1e-12)) {
            "sparse alignment: the prediction is the same at all $n points: scale and shift are not determined"
        }
        var best: BooleanArray? = null
        var bestCount = -1
        var bestSum = Double.POSITIVE_INFINITY
        for ((i, j) in pairs(n)) {
            if (x[i] == x[j]) continue
            val scale = (y[j] - y[i]) / (x[j] - x[i])
            val shift = y[i] - scale * x[i]
            val r = depthResiduals(scale, shift, x, depth)
            val inl = BooleanArray(n) { r[it] <= tau }
            val count = inl.count { it }
            var sum = 0.0
            for (k in 0 until n) if (inl[k]) sum += r[k]
            if (count > bestCount || (count == bestCount && sum < bestSum)) {
                best = inl; bestCount = count; bestSum = sum
            }
        }
        val use = if (best == null || bestCount < 2) BooleanArray(n) { true } else best
        var m = 0
        var sx = 0.0; var sy = 0.0; var sxx = 0.0; var sxy = 0.0
        for (k in 0 until n) if (use[k]) { m++; sx += x[k]; sy += y[k]; sxx += x[k] * x[k]; sxy += x[k] * y[k] }
        val det = m * sxx - sx * sx
        val scale = (m * sxy - sx * sy) / det
        val shift = (sy - scale * sx) / m
        require(scale.isFinite() && shift.isFinite()) { "sparse alignment: the scale/shift fit is not finite" }
        return PointFit(scale, shift, "disparity", m, n)
    }
}
