package dev.kerasdepth.demo

import android.Manifest as AndroidManifest
import android.content.pm.PackageManager
import android.graphics.Bitmap
import android.graphics.Matrix
import android.os.Bundle
import android.util.Log
import android.widget.FrameLayout
import android.widget.Toast
import androidx.activity.ComponentActivity
import androidx.activity.result.contract.ActivityResultContracts
import androidx.camera.core.CameraSelector
import androidx.camera.core.ImageAnalysis
import androidx.camera.core.ImageProxy
import androidx.camera.core.Preview
import androidx.camera.lifecycle.ProcessCameraProvider
import androidx.camera.view.PreviewView
import androidx.core.content.ContextCompat
import dev.kerasdepth.core.DepthColorMap
import dev.kerasdepth.core.DepthEstimator
import dev.kerasdepth.core.FrameComposer
import dev.kerasdepth.core.Manifest
import dev.kerasdepth.core.ManifestDepthEstimator
import java.util.concurrent.ExecutorService
import java.util.concurrent.Executors

/**
 * Camera preview + depth overlay + a virtual cube that the real scene occludes.
 * Bitmap plumbing only: the frame goes to depth-core as ARGB ints and comes back composed.
 */
class MainActivity : ComponentActivity() {
    private lateinit var previewView: PreviewView
    private lateinit var overlay: OverlayView
    private lateinit var analysisExecutor: ExecutorService
    private var estimator: DepthEstimator? = null
    private var composer: FrameComposer? = null
    private var gpu = false

    private val askCamera = registerForActivityResult(ActivityResultContracts.RequestPermission()) { granted ->
        if (granted) startCamera() else Toast.makeText(this, "The demo needs the camera", Toast.LENGTH_LONG).show()
    }

    override fun onCreate(savedInstanceState: Bundle?) {
        super.onCreate(savedInstanceState)
        previewView = PreviewView(this)
        overlay = OverlayView(this)
        setContentView(FrameLayout(this).apply {
            addView(previewView)
            addView(overlay)
        })
        analysisExecutor = Executors.newSingleThreadExecutor()
        try {
            val manifest = Manifest.parse(assets.open(MANIFEST_ASSET).bufferedReader().use { it.readText() }, "assets/$MANIFEST_ASSET")
            val runner = LiteRtRunner(this, manifest)
            gpu = runner.usingGpu
            estimator = ManifestDepthEstimator(manifest, runner)
            // Colour over the depth range the model can express (output.range is of the raw output).
            val o = manifest.output
            val (near, far) = o.depthRange.let { (n, f) -> n.toFloat() to f.toFloat() }
            composer = FrameComposer(DepthColorMap(near, far), hfovDegrees = CAMERA_HFOV_DEGREES)
        } catch (e: Exception) {
            Log.e(TAG, "cannot load the model", e)
            Toast.makeText(this, "No usable model in assets/: ${e.message}", Toast.LENGTH_LONG).show()
        }
        if (ContextCompat.checkSelfPermission(this, AndroidManifest.permission.CAMERA) == PackageManager.PERMISSION_GRANTED) startCamera()
        else askCamera.launch(AndroidManifest.permission.CAMERA)
    }

    private fun startCamera() {
        val providerFuture = ProcessCameraProvider.getInstance(this)
        providerFuture.addListener({
            val provider = providerFuture.get()
            val preview = Preview.Builder().build().also { it.setSurfaceProvider(previewView.surfaceProvider) }
            val analysis = ImageAnalysis.Builder()
                .setBackpressureStrategy(ImageAnalysis.STRATEGY_KEEP_ONLY_LATEST)
                .setOutputImageFormat(ImageAnalysis.OUTPUT_IMAGE_FORMAT_RGBA_8888)
                .build()
            analysis.setAnalyzer(analysisExecutor, ::analyze)
            provider.unbindAll()
            provider.bindToLifecycle(this, CameraSelector.DEFAULT_BACK_CAMERA, preview, analysis)
        }, ContextCompat.getMainExecutor(this))
    }

    private fun analyze(image: ImageProxy) {
        image.use {
            val est = estimator ?: return
            val comp = composer ?: return
            val frame = uprightBitmap(it.toBitmap(), it.imageInfo.rotationDegrees, ANALYSIS_MAX_SIDE)
            val w = frame.width
            val h = frame.height
            val argb = IntArray(w * h)
            frame.getPixels(argb, 0, w, 0, 0, w, h)
            val depth = est.estimate(argb, w, h)
            val cube = FrameComposer.cubeAhead(depth.depth, depth.width, depth.height)
            val composed = comp.compose(argb, w, h, depth, cube)
            val line = "%.1f ms %s, %s depth".format(depth.inferenceMs, if (gpu) "GPU" else "CPU", depth.semantics.jsonName)
            overlay.post { overlay.show(composed, line) }
        }
    }

    override fun onDestroy() {
        super.onDestroy()
        analysisExecutor.shutdown()
        estimator?.close()
    }

    companion object {
        private const val TAG = "keras-depth"
        /** The manifest the exporter writes beside the model; its model_file names the .tflite in assets/. */
        const val MANIFEST_ASSET = "model.json"
        /** Typical phone main camera; the cube only needs it roughly right. */
        const val CAMERA_HFOV_DEGREES = 65.0
        const val ANALYSIS_MAX_SIDE = 480

        /** Rotates the analysis frame upright and scales it so its longer side is at most [maxSide]. */
        fun uprightBitmap(src: Bitmap, rotationDegrees: Int, maxSide: Int): Bitmap {
            val s = minOf(1f, maxSide / maxOf(src.width, src.height).toFloat())
            if (rotationDegrees == 0 && s == 1f) return src
            val m = Matrix().apply { postScale(s, s); postRotate(rotationDegrees.toFloat()) }
            return Bitmap.createBitmap(src, 0, 0, src.width, src.height, m, true)
        }
    }
}
