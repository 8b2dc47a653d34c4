package dev.kerasdepth.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

class FrameComposerTest {
    private fun flat(z: Float, w: Int = 8, h: Int = 6) = DepthResult(FloatArray(w * h) { z }, w, h, Semantics.METRIC, 1.0)

    private val frame = IntArray(64 * 48) { Pixels.argb(255, 10, 20, 30) }

    @Test
    fun cubeInFrontOfTheWallShowsAndBehindItHides() {
        val cube = Cube(0.0, 0.0, 2.0, 0.5)
        val front = FrameComposer(DepthColorMap(0.5f, 5f)).compose(frame, 64, 48, flat(3f), cube, depthOpacity = 0)
        assertTrue(front.cubeVisiblePixels > 50)
        val behind = FrameComposer(DepthColorMap(0.5f, 5f)).compose(frame, 64, 48, flat(1f), cube, depthOpacity = 0)
        assertEquals(0, behind.cubeVisiblePixels)
        assertArrayEquals(frame, behind.argb)
    }

    @Test
    fun depthOverlayBlendsTheColourMap() {
        val cm = DepthColorMap(0.5f, 5f)
        val out = FrameComposer(cm).compose(frame, 64, 48, flat(2f), null, depthOpacity = 255)
        assertEquals((cm.color(2f) and 0xFFFFFF) or (0xFF shl 24), out.argb[0])
        val invalid = FrameComposer(cm).compose(frame, 64, 48, flat(Float.NaN), null, depthOpacity = 255)
        assertArrayEquals(frame, invalid.argb)
    }

    @Test
    fun smoothingAveragesDisparityAcrossFrames() {
        val c = FrameComposer(DepthColorMap(0.5f, 5f), smoothingAlpha = 0.5f)
        c.sceneDepth(flat(1f), 8, 6)
        val d = c.sceneDepth(flat(0.5f), 8, 6) // disparity (1 + 2) / 2 = 1.5
        assertEquals(1f / 1.5f, d[0], 1e-6f)
        c.reset()
        assertEquals(0.5f, c.sceneDepth(flat(0.5f), 8, 6)[0], 1e-6f)
    }

    @Test
    fun cubeAheadSitsBeforeTheCentralDepth() {
        val cube = FrameComposer.cubeAhead(FloatArray(16 * 16) { 4f }, 16, 16, sizeFraction = 0.125, fraction = 0.9)!!
        assertEquals(0.5, cube.size, 1e-9)
        assertEquals(3.6 + 0.25, cube.z, 1e-6) // front face at 0.9 * 4
        assertNull(FrameComposer.cubeAhead(FloatArray(16) { Float.NaN }, 4, 4))
    }
}
