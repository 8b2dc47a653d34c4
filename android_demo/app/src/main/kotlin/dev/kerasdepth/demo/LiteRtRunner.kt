package dev.kerasdepth.demo

import android.content.Context
import android.util.Log
import dev.kerasdepth.core.DType
import dev.kerasdepth.core.Manifest
import dev.kerasdepth.core.ModelRunner
import dev.kerasdepth.core.Tensor
import org.tensorflow.lite.Interpreter
import org.tensorflow.lite.gpu.CompatibilityList
import org.tensorflow.lite.gpu.GpuDelegate
import java.io.FileInputStream
import java.nio.ByteBuffer
import java.nio.ByteOrder
import java.nio.MappedByteBuffer
import java.nio.channels.FileChannel

/**
 * depth-core's [ModelRunner] on LiteRT: the GPU delegate where the device supports it and the
 * model compiles for it, otherwise the CPU (XNNPACK) with [cpuThreads] threads.
 * Only the buffer copies live here; what goes in and comes out is decided by depth-core.
 */
class LiteRtRunner(context: Context, private val manifest: Manifest, cpuThreads: Int = 4) : ModelRunner {
    private var gpu: GpuDelegate? = null
    private val interpreter: Interpreter
    val usingGpu: Boolean

    private val inBuf: ByteBuffer
    private val outBuf: ByteBuffer

    init {
        val model = mapAsset(context, manifest.modelFile)
        var gpuInterpreter: Interpreter? = null
        try {
            val compat = CompatibilityList()
            try {
                if (compat.isDelegateSupportedOnThisDevice) {
                    val delegate = GpuDelegate(compat.bestOptionsForThisDevice)
                    gpu = delegate
                    gpuInterpreter = Interpreter(model, Interpreter.Options().addDelegate(delegate))
                }
            } finally {
                compat.close()
            }
        } catch (e: Exception) {
            // Unsupported ops or a driver problem: the CPU path below still works.
            Log.w(TAG, "GPU delegate unavailable, falling back to CPU: ${e.message}")
            gpu?.close()
            gpu = null
            gpuInterpreter = null
        }
        usingGpu = gpuInterpreter != null
        interpreter = gpuInterpreter ?: Interpreter(model, Interpreter.Options().setNumThreads(cpuThreads))

        val i = manifest.input
        val o = manifest.output
        inBuf = ByteBuffer.allocateDirect(i.width * i.height * i.channels * bytesPer(i.dtype)).order(ByteOrder.nativeOrder())
        outBuf = ByteBuffer.allocateDirect(o.width * o.height * bytesPer(o.dtype)).order(ByteOrder.nativeOrder())
        val shape = interpreter.getInputTensor(0).shape()
        require(shape.contentEquals(intArrayOf(1, i.height, i.width, i.channels))) {
            "${manifest.modelFile}: input shape ${shape.toList()} disagrees with the manifest (1, ${i.height}, ${i.width}, ${i.channels})"
        }
        Log.i(TAG, "${manifest.modelFile}: ${if (usingGpu) "GPU delegate" else "CPU, $cpuThreads threads"}")
    }

    override fun run(input: Tensor): Tensor {
        inBuf.rewind()
        when (input) {
            is Tensor.Bytes -> inBuf.put(input.data)
            is Tensor.Floats -> inBuf.asFloatBuffer().put(input.data)
        }
        inBuf.rewind()
        outBuf.rewind()
        interpreter.run(inBuf, outBuf)
        outBuf.rewind()
        val o = manifest.output
        return if (o.dtype.isInteger) {
            val bytes = ByteArray(outBuf.capacity())
            outBuf.get(bytes)
            Tensor.Bytes(bytes, o.dtype)
        } else {
            val floats = FloatArray(o.width * o.height)
            outBuf.asFloatBuffer().get(floats)
            Tensor.Floats(floats, o.dtype)
        }
    }

    override fun close() {
        interpreter.close()
        gpu?.close()
    }

    companion object {
        private const val TAG = "LiteRtRunner"

        private fun bytesPer(dtype: DType): Int = when (dtype) {
            DType.UINT8, DType.INT8 -> 1
            DType.FLOAT32 -> 4
            // A float16 model I/O would need a half-float conversion here; our exports use float32 or uint8.
            DType.FLOAT16 -> throw IllegalArgumentException("float16 model input/output is not supported by the app")
        }

        private fun mapAsset(context: Context, name: String): MappedByteBuffer {
            val fd = context.assets.openFd(name)
            return FileInputStream(fd.fileDescriptor).channel.use { ch ->
                ch.map(FileChannel.MapMode.READ_ONLY, fd.startOffset, fd.declaredLength)
            }
        }
    }
}
