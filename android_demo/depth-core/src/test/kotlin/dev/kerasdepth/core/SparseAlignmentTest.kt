package dev.kerasdepth.core

import dev.kerasdepth.core.TestSupport.assertRejects
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

/**
 * SparseAlignment against keras_depth/alignment.py on the shared fixture sparse_alignment.json
 * (written by export/fixtures.py; tests/test_android_fixtures.py checks it is current), plus
 * hand-computed cases.
 */
class SparseAlignmentTest {
    private val cases = ((Json.parse(TestSupport.resource("/fixtures/sparse_alignment.json")) as Map<*, *>)["cases"] as List<*>)
        .map { it as Map<*, *> }

    @Test
    fun matchesPythonOnEveryFixtureCase() {
        assertTrue(cases.size >= 7)
        for (c in cases) {
            val name = c["name"] as String
            val w = (c["width"] as Double).toInt()
            val h = (c["height"] as Double).toInt()
            val pred = (c["pred"] as List<*>).map { (it as Double).toFloat() }.toFloatArray()
            val pts = (c["points"] as List<*>).map { it as List<*> }
            val xs = IntArray(pts.size) { (pts[it][0] as Double).toInt() }
            val ys = IntArray(pts.size) { (pts[it][1] as Double).toInt() }
            val zs = DoubleArray(pts.size) { pts[it][2] as Double }
            val semantics = c["semantics"] as String
            val error = c["error"] as String?
            if (error != null) {
                // Python's message may add a value in parentheses; the reason before it must match.
                assertRejects(error.substringBefore("(").trim()) { SparseAlignment.fit(pred, w, h, xs, ys, zs, semantics) }
                continue
            }
            val fit = SparseAlignment.fit(pred, w, h, xs, ys, zs, semantics)
            assertEquals("$name scale", c["scale"] as Double, fit.scale, 1e-6 * abs(c["scale"] as Double))
            assertEquals("$name shift", c["shift"] as Double, fit.shift, 1e-6)
            assertEquals("$name inliers", (c["inliers"] as Double).toInt(), fit.inliers)
        }
    }

    @Test
    fun exactInliersGiveTheirLineThroughAnOutlier() {
        // Four points on 1/z = 2 d + 0.5 and one 3x too deep (as tests/test_sparse_alignment.py).
        val d = floatArrayOf(0.1f, 0.2f, 0.4f, 0.8f, 0.3f)
        val z = DoubleArray(5) { 1.0 / (2 * d[it].toDouble() + 0.5) }
        z[4] *= 3.0
        val fit = SparseAlignment.fit(d, 5, 1, IntArray(5) { it }, IntArray(5), z, "affine_disparity")
        assertEquals(2.0, fit.scale, 1e-5)
        assertEquals(0.5, fit.shift, 1e-5)
        assertEquals(4, fit.inliers)
        val depth = fit.apply(d)
        for (i in 0 until 4) assertEquals(z[i], depth[i].toDouble(), 1e-5 * z[i])
    }

    @Test
    fun depthScaleWithoutInliersIsTheMedian() {
        val fit = SparseAlignment.fit(floatArrayOf(1f, 1f), 2, 1, intArrayOf(0, 1), intArrayOf(0, 0), doubleArrayOf(1.0, 3.0), "relative")
        assertEquals(2.0, fit.scale, 1e-12)
        assertEquals(0, fit.inliers)
    }

    @Test
    fun lcgPairsMatchTheFormula() {
        val s1 = (1664525L * 12345L + 1013904223L) and 0xFFFFFFFFL
        val s2 = (1664525L * s1 + 1013904223L) and 0xFFFFFFFFL
        assertEquals(((s1 ushr 8) % 100).toInt() to ((s2 ushr 8) % 100).toInt(), SparseAlignment.pairs(100, 5)[0])
        assertEquals(listOf(0 to 1, 0 to 2, 1 to 2), SparseAlignment.pairs(3))
    }

    @Test
    fun degenerateInputIsRefused() {
        val ramp = FloatArray(24) { it + 1f }
        assertRejects("no points") { SparseAlignment.fit(ramp, 6, 4, emptyList(), "metric") }
        assertRejects("outside the 6x4 image") { SparseAlignment.fit(ramp, 6, 4, listOf(MetricPoint(6, 0, 1f)), "metric") }
        assertRejects("depth NaN") { SparseAlignment.fit(ramp, 6, 4, listOf(MetricPoint(1, 1, Float.NaN)), "metric") }
        assertRejects("one depth") {
            SparseAlignment.fit(ramp, 6, 4, listOf(MetricPoint(1, 1, 2f), MetricPoint(2, 2, 2f)), "affine_disparity")
        }
    }

    private fun abs(v: Double) = kotlin.math.abs(v)
}
