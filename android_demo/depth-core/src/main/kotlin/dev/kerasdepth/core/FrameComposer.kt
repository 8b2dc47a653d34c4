package dev.kerasdepth.core

/** What the overlay draws for one camera frame. */
data class ComposedFrame(val argb: IntArray, val width: Int, val height: Int, val cubeVisiblePixels: Int) {
    override fun equals(other: Any?): Boolean = other is ComposedFrame && width == other.width && height == other.height &&
        cubeVisiblePixels == other.cubeVisiblePixels && argb.contentEquals(other.argb)

    override fun hashCode(): Int = (31 * width + height) * 31 + argb.contentHashCode()
}

/**
 * The per-frame AR logic the app runs after the estimator: temporal smoothing (of disparity),
 * resizing the depth to the frame, the depth colour overlay, and the virtual cube occluded by the
 * scene. Everything the Android layer does around it is Bitmap plumbing.
 */
class FrameComposer(
    val colorMap: DepthColorMap,
    /** Horizontal field of view of the (rotated) camera frame, for the cube's intrinsics. */
    val hfovDegrees: Double = 65.0,
    smoothingAlpha: Float = 0.5f,
) {
    private val smoother = TemporalSmoother(smoothingAlpha)

    fun reset() = smoother.reset()

    /** The model's depth, smoothed over frames and resized to width×height (NaN where invalid). */
    fun sceneDepth(result: DepthResult, width: Int, height: Int): FloatArray {
        val disparity = smoother.smoothDisparity(Postprocess.depthToDisparity(result.depth))
        val depth = Postprocess.depthToDisparity(disparity) // 1/x again: back to depth
        return Postprocess.resizeDepth(depth, result.width, result.height, width, height)
    }

    /**
     * [frame]: width×height ARGB camera pixels. [depthOpacity] 0..255 blends the colour map over the
     * frame (0 shows the camera only). [cube] null draws no object.
     */
    fun compose(frame: IntArray, width: Int, height: Int, result: DepthResult, cube: Cube?, depthOpacity: Int = 0x80): ComposedFrame {
        require(frame.size == width * height) { "frame has ${frame.size} pixels, expected ${width}x$height" }
        require(depthOpacity in 0..255) { "depthOpacity must be 0..255, got $depthOpacity" }
        val scene = sceneDepth(result, width, height)
        val background = if (depthOpacity == 0) frame.copyOf() else IntArray(frame.size) {
            val c = colorMap.color(scene[it])
            if (c == 0) frame[it] else Occlusion.blend((c and 0x00FFFFFF) or (depthOpacity shl 24), frame[it])
        }
        if (cube == null) return ComposedFrame(background, width, height, 0)
        val obj = CubeRenderer.render(cube, Intrinsics.fromHorizontalFov(width, height, hfovDegrees), width, height)
        val r = Occlusion.composite(background, scene, obj)
        return ComposedFrame(r.argb, width, height, r.visibleCount)
    }

    companion object {
        /**
         * A cube on the optical axis whose front is [fraction] of the way to the median valid depth
         * of the central quarter of the map, with edges [sizeFraction] of that depth (so it works for
         * relative depth too): in front of whatever is straight ahead, so moving the phone shows it
         * being occluded. Null when no depth there is valid.
         */
        fun cubeAhead(depth: FloatArray, width: Int, height: Int, sizeFraction: Double = 0.15, fraction: Double = 0.9): Cube? {
            require(depth.size == width * height) { "depth has ${depth.size} values, expected ${width}x$height" }
            val vals = ArrayList<Float>()
            for (y in height * 3 / 8 until maxOf(height * 5 / 8, height * 3 / 8 + 1)) {
                for (x in width * 3 / 8 until maxOf(width * 5 / 8, width * 3 / 8 + 1)) {
                    val z = depth[y * width + x]
                    if (z > 0f && z.isFinite()) vals += z
                }
            }
            if (vals.isEmpty()) return null
            vals.sort()
            val median = vals[vals.size / 2].toDouble()
            val size = median * sizeFraction
            return Cube(0.0, 0.0, median * fraction + size / 2, size, yawDegrees = 30.0)
        }
    }
}
