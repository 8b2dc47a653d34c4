package dev.kerasdepth.demo

import android.content.Context
import android.graphics.Bitmap
import android.graphics.Canvas
import android.graphics.Color
import android.graphics.Matrix
import android.graphics.Paint
import android.util.AttributeSet
import android.view.View
import dev.kerasdepth.core.ComposedFrame

/** Draws the composed frame (camera + depth colours + occluded cube) scaled to fill the view, and a status line. */
class OverlayView @JvmOverloads constructor(context: Context, attrs: AttributeSet? = null) : View(context, attrs) {
    private var bitmap: Bitmap? = null
    private var status = ""
    private val drawMatrix = Matrix()
    private val textPaint = Paint(Paint.ANTI_ALIAS_FLAG).apply {
        color = Color.WHITE
        textSize = 36f
        setShadowLayer(4f, 0f, 0f, Color.BLACK)
    }

    /** Called on the UI thread. */
    fun show(frame: ComposedFrame, statusLine: String) {
        val b = bitmap?.takeIf { it.width == frame.width && it.height == frame.height }
            ?: Bitmap.createBitmap(frame.width, frame.height, Bitmap.Config.ARGB_8888).also { bitmap = it }
        b.setPixels(frame.argb, 0, frame.width, 0, 0, frame.width, frame.height)
        status = statusLine
        invalidate()
    }

    override fun onDraw(canvas: Canvas) {
        super.onDraw(canvas)
        val b = bitmap ?: return
        // Centre-crop, like PreviewView's default FILL_CENTER.
        val s = maxOf(width / b.width.toFloat(), height / b.height.toFloat())
        drawMatrix.setScale(s, s)
        drawMatrix.postTranslate((width - b.width * s) / 2f, (height - b.height * s) / 2f)
        canvas.drawBitmap(b, drawMatrix, null)
        canvas.drawText(status, 24f, 60f, textPaint)
    }
}
