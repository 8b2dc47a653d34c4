package dev.kerasdepth.core

/**
 * A model input or output tensor in the manifest's dtype, batch 1, NHWC, row-major.
 * Integer tensors keep their raw bytes (uint8 as the low 8 bits), which is what LiteRT buffers hold.
 */
sealed class Tensor {
    abstract val dtype: DType
    abstract val size: Int

    /** float32 / float16 values (a float16 model's runner converts at the buffer boundary). */
    class Floats(val data: FloatArray, override val dtype: DType = DType.FLOAT32) : Tensor() {
        init { require(!dtype.isInteger) { "Floats tensor needs a float dtype, got ${dtype.jsonName}" } }
        override val size get() = data.size
    }

    /** uint8 / int8 values as raw bytes. */
    class Bytes(val data: ByteArray, override val dtype: DType) : Tensor() {
        init { require(dtype.isInteger) { "Bytes tensor needs an integer dtype, got ${dtype.jsonName}" } }
        override val size get() = data.size

        /** The integer value at [i] in the tensor's dtype (0..255 for uint8, -128..127 for int8). */
        fun valueAt(i: Int): Int = if (dtype == DType.UINT8) data[i].toInt() and 0xFF else data[i].toInt()

        fun values(): IntArray = IntArray(size) { valueAt(it) }
    }
}
