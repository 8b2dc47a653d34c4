package dev.kerasdepth.core

import dev.kerasdepth.core.TestSupport.assertRejects
import org.junit.Assert.assertArrayEquals
import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Test

class PreprocessTest {
    private fun spec(dtype: DType, scale: Double, offset: Double, q: Quantization?, order: ChannelOrder = ChannelOrder.RGB, w: Int = 2, h: Int = 2) =
        InputSpec(h, w, 3, order, "NHWC", dtype, Normalization(List(3) { scale }, List(3) { offset }), q)

    private val frame2x2 = intArrayOf(
        Pixels.argb(255, 0, 128, 255), Pixels.argb(0, 1, 2, 3),
        Pixels.argb(255, 127, 254, 10), Pixels.argb(9, 200, 100, 50),
    )

    @Test
    fun defaultUint8ExportFeedsRawPixels() {
        val t = Preprocessor(spec(DType.UINT8, 1 / 255.0, 0.0, Quantization(1 / 255.0, 0))).toTensor(frame2x2, 2, 2) as Tensor.Bytes
        assertEquals(DType.UINT8, t.dtype)
        assertArrayEquals(intArrayOf(0, 128, 255, 1, 2, 3, 127, 254, 10, 200, 100, 50), t.values())
    }

    @Test
    fun int8WithMeanStdAndClamp() {
        // x = p / 127.5 - 1, q = round(x * 128): 0 -> -128, 255 -> 128 clamped to 127, 128 -> 0.502 -> 1, 127 -> -1.
        val s = spec(DType.INT8, 1 / 127.5, -1.0, Quantization(1 / 128.0, 0))
        val t = Preprocessor(s).toTensor(frame2x2, 2, 2) as Tensor.Bytes
        assertEquals(-128, t.valueAt(0))
        assertEquals(1, t.valueAt(1))
        assertEquals(127, t.valueAt(2))
        assertEquals(-1, t.valueAt(6))
        assertEquals(127, t.valueAt(7)) // 254 -> 0.99216 * 128 = 127.0
    }

    @Test
    fun roundsHalfToEvenLikeNumpy() {
        // x = p * 0.5, q = round(x) + 3: 1 -> 0.5 -> 0, 3 -> 1.5 -> 2, 5 -> 2.5 -> 2, 7 -> 3.5 -> 4.
        val s = spec(DType.UINT8, 0.5, 0.0, Quantization(1.0, 3), w = 1, h = 1)
        val t = Preprocessor(s).toTensor(intArrayOf(Pixels.argb(255, 1, 3, 5)), 1, 1) as Tensor.Bytes
        assertArrayEquals(intArrayOf(3, 5, 5), t.values())
        val t2 = Preprocessor(s).toTensor(intArrayOf(Pixels.argb(255, 7, 0, 255)), 1, 1) as Tensor.Bytes
        assertArrayEquals(intArrayOf(7, 3, 131), t2.values())
    }

    @Test
    fun floatInputAndBgrOrder() {
        val s = spec(DType.FLOAT32, 2.0, 1.0, null, ChannelOrder.BGR)
        val t = Preprocessor(s).toTensor(frame2x2, 2, 2) as Tensor.Floats
        assertArrayEquals(floatArrayOf(511f, 257f, 1f), t.data.copyOfRange(0, 3), 0f)
        assertArrayEquals(floatArrayOf(7f, 5f, 3f), t.data.copyOfRange(3, 6), 0f)
    }

    @Test
    fun perChannelNormalization() {
        val s = InputSpec(1, 1, dtype = DType.FLOAT32, normalization = Normalization(listOf(1.0, 0.5, 0.25), listOf(0.0, -1.0, 2.0)))
        val t = Preprocessor(s).toTensor(intArrayOf(Pixels.argb(255, 4, 8, 16)), 1, 1) as Tensor.Floats
        assertArrayEquals(floatArrayOf(4f, 3f, 6f), t.data, 0f)
    }

    @Test
    fun resizesToTheInputSize() {
        // 2x1 -> 4x1 linear (upscale): half-pixel centres give 0, 64, 191, 255 (cv2.resize agrees).
        val s = spec(DType.UINT8, 1 / 255.0, 0.0, Quantization(1 / 255.0, 0), w = 4, h = 1)
        val frame = intArrayOf(Pixels.argb(255, 0, 0, 0), Pixels.argb(255, 255, 255, 255))
        val t = Preprocessor(s).toTensor(frame, 2, 1) as Tensor.Bytes
        assertArrayEquals(intArrayOf(0, 64, 191, 255), IntArray(4) { t.valueAt(it * 3) })
    }

    @Test
    fun rejectsBadInputs() {
        val p = Preprocessor(spec(DType.UINT8, 1 / 255.0, 0.0, Quantization(1 / 255.0, 0)))
        assertRejects("argb has 3 pixels", "2x2") { p.toTensor(IntArray(3), 2, 2) }
        assertRejects("frame size must be positive") { p.toTensor(IntArray(0), 0, 2) }
        assertRejects("input.channels must be 3") { Preprocessor(InputSpec(2, 2, channels = 1)) }
    }
}

class ResizeTest {
    @Test
    fun linearUpscaleUsesHalfPixelCentres() {
        assertArrayEquals(intArrayOf(0, 64, 191, 255), Resize.resizeU8(intArrayOf(0, 255), 2, 1, 1, 4, 1, Interpolation.LINEAR))
        // 2x2 -> 4x4 in both axes: corners replicate, inner points interpolate.
        val out = Resize.resizeU8(intArrayOf(0, 100, 200, 40), 2, 2, 1, 4, 4, Interpolation.LINEAR)
        assertEquals(0, out[0])
        assertEquals(100, out[3])
        assertEquals(200, out[12])
        assertEquals(40, out[15])
        // (1,1): 0.75*0.75*0 + 0.75*0.25*100 + 0.25*0.75*200 + 0.25*0.25*40 = 0 + 18.75 + 37.5 + 2.5 = 58.75
        assertEquals(59, out[5])
    }

    @Test
    fun areaDownscaleAveragesPixels() {
        assertArrayEquals(intArrayOf(15, 36), Resize.resizeU8(intArrayOf(10, 20, 30, 41), 4, 1, 1, 2, 1, Interpolation.AREA))
        // 3 -> 2: cells [0, 1.5) and [1.5, 3): (0 + 0.5*90)/1.5 = 30, (0.5*90 + 180)/1.5 = 150.
        assertArrayEquals(intArrayOf(30, 150), Resize.resizeU8(intArrayOf(0, 90, 180), 3, 1, 1, 2, 1, Interpolation.AREA))
    }

    @Test
    fun interleavedChannelsStaySeparate() {
        val out = Resize.resizeU8(intArrayOf(0, 255, 7, 255, 0, 7), 2, 1, 3, 4, 1, Interpolation.LINEAR)
        assertArrayEquals(intArrayOf(0, 255, 7, 64, 191, 7, 191, 64, 7, 255, 0, 7), out)
    }

    @Test
    fun floatResizeIsBilinear() {
        val out = Resize.resizeFloat(floatArrayOf(1f, 3f), 2, 1, 4, 1)
        assertArrayEquals(floatArrayOf(1f, 1.5f, 2.5f, 3f), out, 1e-6f)
        val same = Resize.resizeFloat(floatArrayOf(1f, 2f), 2, 1, 2, 1)
        assertArrayEquals(floatArrayOf(1f, 2f), same, 0f)
    }

    @Test
    fun picksAreaWhenShrinkingLikeThePythonRuntime() {
        assertEquals(Interpolation.AREA, Resize.interpolationFor(480, 128))
        assertEquals(Interpolation.LINEAR, Resize.interpolationFor(15, 24))
        assertTrue(Resize.interpolationFor(24, 24) == Interpolation.LINEAR)
    }
}
