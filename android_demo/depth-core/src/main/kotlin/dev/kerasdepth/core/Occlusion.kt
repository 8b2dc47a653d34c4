package dev.kerasdepth.core

/** A virtual object rendered into the camera frame: colour (0xAARRGGBB) and z-depth (+inf where absent). */
data class RenderedObject(val argb: IntArray, val depth: FloatArray, val width: Int, val height: Int) {
    init {
        require(width > 0 && height > 0) { "object size must be positive, got ${width}x$height" }
        require(argb.size == width * height && depth.size == width * height) {
            "object arrays have ${argb.size} and ${depth.size} values, expected ${width}x$height"
        }
    }

    override fun equals(other: Any?): Boolean = other is RenderedObject && width == other.width && height == other.height &&
        argb.contentEquals(other.argb) && depth.contentEquals(other.depth)

    override fun hashCode(): Int = 31 * (31 * width + height) + argb.contentHashCode() * 17 + depth.contentHashCode()
}

data class OcclusionResult(val argb: IntArray, val visible: BooleanArray, val width: Int, val height: Int) {
    val visibleCount: Int get() = visible.count { it }

    override fun equals(other: Any?): Boolean = other is OcclusionResult && width == other.width && height == other.height &&
        argb.contentEquals(other.argb) && visible.contentEquals(other.visible)

    override fun hashCode(): Int = 31 * (31 * width + height) + argb.contentHashCode() * 17 + visible.contentHashCode()
}

object Occlusion {
    /**
     * An object pixel shows only where `objectDepth < sceneDepth` (strictly) and the scene depth is
     * valid (finite, > 0): an unknown scene hides the object rather than let it float in front.
     * Visible pixels are blended source-over with the object's alpha in integer arithmetic,
     * `out = (obj * a + bg * (255 - a) + 127) / 255` per channel, alpha 255.
     * Hidden pixels keep the background unchanged.
     */
    fun composite(background: IntArray, sceneDepth: FloatArray, obj: RenderedObject): OcclusionResult {
        val n = obj.width * obj.height
        require(background.size == n) { "background has ${background.size} pixels, expected ${obj.width}x${obj.height}" }
        require(sceneDepth.size == n) { "scene depth has ${sceneDepth.size} values, expected ${obj.width}x${obj.height} (resize it first)" }
        val out = background.copyOf()
        val visible = BooleanArray(n)
        for (i in 0 until n) {
            val z = obj.depth[i]
            val s = sceneDepth[i]
            if (!(s > 0f && s.isFinite() && z < s)) continue
            visible[i] = true
            out[i] = blend(obj.argb[i], background[i])
        }
        return OcclusionResult(out, visible, obj.width, obj.height)
    }

    fun blend(fg: Int, bg: Int): Int {
        val a = (fg ushr 24) and 0xFF
        fun ch(shift: Int): Int = (((fg shr shift) and 0xFF) * a + ((bg shr shift) and 0xFF) * (255 - a) + 127) / 255
        return Pixels.argb(0xFF, ch(16), ch(8), ch(0))
    }
}
