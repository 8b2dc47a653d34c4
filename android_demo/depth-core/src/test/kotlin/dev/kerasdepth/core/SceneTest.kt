package dev.kerasdepth.core

import dev.kerasdepth.core.TestSupport.assertRejects
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test
import kotlin.math.sqrt

class OcclusionTest {
    private val red = Pixels.argb(255, 255, 0, 0)
    private val grey = Pixels.argb(255, 50, 50, 50)

    @Test
    fun objectShowsOnlyWhereStrictlyNearerThanValidScene() {
        val scene = floatArrayOf(1f, 2f, Float.NaN, 1.5f, 0f, 3f)
        val obj = RenderedObject(IntArray(6) { red }, floatArrayOf(1.5f, 1.5f, 1.5f, 1.5f, 1.5f, Float.POSITIVE_INFINITY), 3, 2)
        val r = Occlusion.composite(IntArray(6) { grey }, scene, obj)
        // behind, in front, unknown scene, tie, invalid scene, no object
        assertArrayEquals(booleanArrayOf(false, true, false, false, false, false), r.visible)
        assertArrayEquals(intArrayOf(grey, red, grey, grey, grey, grey), r.argb)
        assertEquals(1, r.visibleCount)
    }

    @Test
    fun semiTransparentObjectBlends() {
        val half = Pixels.argb(128, 255, 0, 0)
        assertEquals(Pixels.argb(255, 128, 0, 0), Occlusion.blend(half, Pixels.argb(255, 0, 0, 0)))
        // (255*128 + 50*127 + 127) / 255 = 153, (0 + 50*127 + 127) / 255 = 25
        assertEquals(Pixels.argb(255, 153, 25, 25), Occlusion.blend(half, grey))
    }

    @Test
    fun sizesMustAgree() {
        val obj = RenderedObject(IntArray(4), FloatArray(4), 2, 2)
        assertRejects("scene depth has 3 values") { Occlusion.composite(IntArray(4), FloatArray(3), obj) }
        assertRejects("background has 5 pixels") { Occlusion.composite(IntArray(5), FloatArray(4), obj) }
    }
}

class SmoothingTest {
    @Test
    fun emaOfDisparity() {
        val s = TemporalSmoother(0.5f)
        assertArrayEquals(floatArrayOf(2f, Float.NaN), s.smoothDisparity(floatArrayOf(2f, Float.NaN)), 0f)
        assertArrayEquals(floatArrayOf(3f, 5f), s.smoothDisparity(floatArrayOf(4f, 5f)), 0f)
        assertArrayEquals(floatArrayOf(3f, 7f), s.smoothDisparity(floatArrayOf(Float.NaN, 9f)), 0f)
        s.reset()
        assertArrayEquals(floatArrayOf(10f, 10f), s.smoothDisparity(floatArrayOf(10f, 10f)), 0f)
        // A size change starts over.
        assertArrayEquals(floatArrayOf(1f), s.smoothDisparity(floatArrayOf(1f)), 0f)
    }

    @Test
    fun emaOfAlignment() {
        val s = TemporalSmoother(0.25f)
        assertEquals(Alignment(2.0, 1.0), s.smoothAlignment(Alignment(2.0, 1.0)))
        val a = s.smoothAlignment(Alignment(6.0, -3.0))
        assertEquals(3.0, a.scale, 1e-9)
        assertEquals(0.0, a.shift, 1e-9)
        s.reset()
        assertEquals(Alignment(6.0, -3.0), s.smoothAlignment(Alignment(6.0, -3.0)))
        assertRejects("alpha") { TemporalSmoother(0f) }
    }
}

class CubeTest {
    private val k = Intrinsics.fromHorizontalFov(100, 80, 90.0)

    @Test
    fun intrinsicsFromFov() {
        assertEquals(50.0, k.fx, 1e-9)
        assertEquals(50.0, k.fy, 1e-9)
        assertEquals(50.0, k.cx, 0.0)
        assertEquals(40.0, k.cy, 0.0)
    }

    @Test
    fun frontFacingCubeCoversItsProjection() {
        // Front face at z = 1.5 spans x, y in [-0.5, 0.5]: pixels whose centres (x + 0.5) lie in 50 ± 16.67, 40 ± 16.67: columns 33..66, rows 23..56.
        val r = CubeRenderer.render(Cube(0.0, 0.0, 2.0, 1.0), k, 100, 80)
        assertEquals(1.5f, r.depth[40 * 100 + 50], 1e-6f)
        assertEquals(1.5f, r.depth[24 * 100 + 34], 1e-6f)
        assertEquals(Float.POSITIVE_INFINITY, r.depth[40 * 100 + 32], 0f)
        assertEquals(Float.POSITIVE_INFINITY, r.depth[0], 0f)
        assertEquals(34 * 34, r.depth.count { it.isFinite() })
        assertEquals(0, r.argb[0])
        assertEquals(Cube(0.0, 0.0, 2.0, 1.0).color, r.argb[40 * 100 + 50]) // the front face is unshaded
    }

    @Test
    fun yawedCubeShowsItsNearEdge() {
        val r = CubeRenderer.render(Cube(0.0, 0.0, 2.0, 1.0, yawDegrees = 45.0), k, 100, 80)
        assertEquals((2 - 0.5 * sqrt(2.0)).toFloat(), r.depth[40 * 100 + 50], 0.03f)
        // Two faces meet at the centre column, shaded differently.
        assertTrue(r.argb[40 * 100 + 45] != r.argb[40 * 100 + 55])
    }

    @Test
    fun cubeOccludedByNearerSceneIsHidden() {
        val obj = CubeRenderer.render(Cube(0.0, 0.0, 2.0, 1.0), k, 100, 80)
        val scene = FloatArray(100 * 80) { i -> if (i % 100 < 50) 1.0f else 3.0f } // a wall on the left half
        val r = Occlusion.composite(IntArray(100 * 80), scene, obj)
        assertTrue(!r.visible[40 * 100 + 40] && r.visible[40 * 100 + 60])
        assertEquals(34 * 17, r.visibleCount) // columns 50..66
    }

    @Test
    fun cubeBehindCameraIsRejected() {
        assertRejects("in front of the camera") { CubeRenderer.render(Cube(0.0, 0.0, 0.2, 1.0), k, 100, 80) }
    }
}
