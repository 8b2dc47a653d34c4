package dev.kerasdepth.core

import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

class PostprocessTest {
    private val out = OutputSpec(2, 2, OutputKind.DISPARITY, Semantics.RELATIVE, "relative", listOf(0.1, 10.0), DType.UINT8, Quantization(0.05, 10))

    @Test
    fun dequantizesUint8AndInt8() {
        val y = Postprocess.toFloat(Tensor.Bytes(byteArrayOf(10, 30, 0, 255.toByte()), DType.UINT8), out)
        assertArrayEquals(floatArrayOf(0f, 1f, -0.5f, 12.25f), y, 1e-6f)
        val int8 = out.copy(dtype = DType.INT8, quantization = Quantization(0.5, -128))
        assertArrayEquals(floatArrayOf(0f, 64f, 127.5f, 63.5f),
            Postprocess.toFloat(Tensor.Bytes(byteArrayOf(-128, 0, 127, -1), DType.INT8), int8), 0f)
    }

    @Test
    fun disparityOutputBecomesClippedInverse() {
        val y = Postprocess.toFloat(Tensor.Bytes(byteArrayOf(10, 30, 0, 255.toByte()), DType.UINT8), out)
        assertArrayEquals(floatArrayOf(10f, 1f, 10f, 0.1f), Postprocess.toDepth(y, out), 1e-6f)
        val depthKind = out.copy(kind = OutputKind.DEPTH)
        assertArrayEquals(y, Postprocess.toDepth(y, depthKind), 0f)
    }

    @Test
    fun logDepthOutputBecomesClippedExp() {
        // ln 2 -> 2 m; 5 and -3 lie beyond [ln 0.25, ln 10] and clip to 10 m and 0.25 m; NaN stays NaN.
        val lo = kotlin.math.ln(0.25)
        val hi = kotlin.math.ln(10.0)
        val d = Postprocess.logDepthToDepth(floatArrayOf(0.6931472f, 5f, -3f, 0f, Float.NaN), lo, hi)
        assertArrayEquals(floatArrayOf(2f, 10f, 0.25f, 1f), d.copyOfRange(0, 4), 1e-5f)
        assertTrue(d[4].isNaN())
        // uint8 level 200 at scale 0.02, zero point 100 is ln-depth 2.0 -> e^2 = 7.389 m, through toFloat + toDepth.
        val spec = out.copy(kind = OutputKind.LOG_DEPTH, range = listOf(lo, hi), quantization = Quantization(0.02, 100))
        val y = Postprocess.toFloat(Tensor.Bytes(byteArrayOf(200.toByte(), 100, 0, 255.toByte()), DType.UINT8), spec)
        assertArrayEquals(floatArrayOf(7.389056f, 1f, 0.25f, 10f), Postprocess.toDepth(y, spec), 1e-5f)
        assertEquals(0.25, spec.depthRange.first, 1e-12)
        TestSupport.assertRejects("lo < hi") { Postprocess.logDepthToDepth(floatArrayOf(0f), 1.0, 1.0) }
    }

    @Test
    fun depthDisparityRoundTripAndInvalids() {
        val d = Postprocess.depthToDisparity(floatArrayOf(2f, 0f, -1f, Float.POSITIVE_INFINITY, Float.NaN, 0.25f))
        assertEquals(0.5f, d[0], 0f)
        for (i in 1..4) assertTrue("index $i", d[i].isNaN())
        assertEquals(4f, d[5], 0f)
        val back = Postprocess.disparityToDepth(floatArrayOf(0.5f, 4f, Float.NaN), 0.01, 100.0)
        assertArrayEquals(floatArrayOf(2f, 0.25f), back.copyOfRange(0, 2), 1e-7f)
        assertTrue(back[2].isNaN())
    }

    @Test
    fun floatOutputPassesThroughAndSizesAreChecked() {
        val f = out.copy(dtype = DType.FLOAT32, quantization = null, kind = OutputKind.DEPTH)
        assertArrayEquals(floatArrayOf(1f, 2f, 3f, 4f), Postprocess.toFloat(Tensor.Floats(floatArrayOf(1f, 2f, 3f, 4f)), f), 0f)
        TestSupport.assertRejects("output has 3 values", "2x2") { Postprocess.toFloat(Tensor.Floats(FloatArray(3)), f) }
        TestSupport.assertRejects("output dtype uint8") { Postprocess.toFloat(Tensor.Bytes(ByteArray(4), DType.UINT8), f) }
    }

    @Test
    fun resizeDepthToDisplay() {
        val r = Postprocess.resizeDepth(floatArrayOf(1f, 3f, 1f, 3f), 2, 2, 4, 2)
        assertArrayEquals(floatArrayOf(1f, 1.5f, 2.5f, 3f, 1f, 1.5f, 2.5f, 3f), r, 1e-6f)
    }
}

class ColorMapTest {
    @Test
    fun endpointsAndInvalid() {
        val cm = DepthColorMap(0.5f, 8f)
        assertEquals(DepthColorMap.turbo(1f), cm.color(0.5f))
        assertEquals(DepthColorMap.turbo(1f), cm.color(0.1f))
        assertEquals(DepthColorMap.turbo(0f), cm.color(8f))
        assertEquals(DepthColorMap.turbo(0f), cm.color(100f))
        assertEquals(0, cm.color(Float.NaN))
        assertEquals(0, cm.color(0f))
        assertEquals(0, cm.color(Float.POSITIVE_INFINITY))
        // Turbo's ends: dark blue (35, 23, 27) at 0 and dark red at 1, opaque.
        assertEquals(Pixels.argb(255, 35, 23, 27), DepthColorMap.turbo(0f))
        val red = DepthColorMap.turbo(1f)
        assertEquals(0xFF, red ushr 24)
        assertTrue((red shr 16 and 0xFF) > 120 && (red and 0xFF) < 10)
    }

    @Test
    fun inverseDepthMidpointIsHalf() {
        val cm = DepthColorMap(1f, 4f, inverseDepth = true)
        assertEquals(0.5f, cm.nearness(1.6f), 1e-6f) // 1/1.6 = 0.625 = midway between 1 and 0.25
        val lin = DepthColorMap(1f, 4f, inverseDepth = false)
        assertEquals(0.5f, lin.nearness(2.5f), 1e-6f)
    }

    @Test
    fun alphaIsApplied() {
        val cm = DepthColorMap(1f, 4f, alpha = 0x80)
        assertEquals(0x80, cm.color(2f) ushr 24)
        assertEquals(3, cm.colorize(floatArrayOf(1f, 2f, 3f)).size)
    }
}
