package dev.kerasdepth.core

/**
 * The manifest beside every exported model (keras_depth/runtime/manifest.py is the schema; docs/contracts.md
 * section 4 says how a consumer uses it). Keys are those `dataclasses.asdict` writes.
 *
 * [Manifest.parse] checks what the Python `Manifest.from_dict` + `validate` check, and a little more
 * that the Kotlin side relies on (3 normalisation values per channel, positive quantization scale).
 * Every error is an [IllegalArgumentException] whose message names the key.
 */
enum class DType(val jsonName: String, val isInteger: Boolean, val minValue: Int, val maxValue: Int) {
    FLOAT32("float32", false, 0, 0),
    FLOAT16("float16", false, 0, 0),
    UINT8("uint8", true, 0, 255),
    INT8("int8", true, -128, 127);

    companion object {
        fun of(name: String): DType? = values().firstOrNull { it.jsonName == name }
    }
}

/** The output encodings (keras_depth.spec.OUTPUT_KINDS): depth in m, disparity in 1/m, log depth in ln m. */
enum class OutputKind(val jsonName: String) { DEPTH("depth"), DISPARITY("disparity"), LOG_DEPTH("log_depth") }

enum class Semantics(val jsonName: String) { METRIC("metric"), RELATIVE("relative"), AFFINE_DISPARITY("affine_disparity") }

enum class ChannelOrder { RGB, BGR }

data class Quantization(val scale: Double, val zeroPoint: Int)

/** The float model sees `x = pixel * scale[c] + offset[c]` (pixel in 0..255), per channel. */
data class Normalization(val scale: List<Double>, val offset: List<Double>)

data class InputSpec(
    val height: Int,
    val width: Int,
    val channels: Int = 3,
    val channelOrder: ChannelOrder = ChannelOrder.RGB,
    val layout: String = "NHWC",
    val dtype: DType = DType.FLOAT32,
    val normalization: Normalization = Normalization(List(3) { 1.0 / 255.0 }, List(3) { 0.0 }),
    val quantization: Quantization? = null,
)

data class OutputSpec(
    val height: Int,
    val width: Int,
    val kind: OutputKind = OutputKind.DEPTH,
    val semantics: Semantics = Semantics.METRIC,
    val units: String = "m",
    /** [lo, hi] of the raw output (depth in m, disparity in 1/m, or log depth in ln m). */
    val range: List<Double> = listOf(0.1, 10.0),
    val dtype: DType = DType.FLOAT32,
    val quantization: Quantization? = null,
) {
    val rangeLo: Double get() = range[0]
    val rangeHi: Double get() = range[1]

    /** [near, far] in depth units: the depth range the raw output can express, by [kind]. */
    val depthRange: Pair<Double, Double> get() = when (kind) {
        OutputKind.DEPTH -> rangeLo to rangeHi
        OutputKind.DISPARITY -> 1.0 / rangeHi to 1.0 / rangeLo
        OutputKind.LOG_DEPTH -> kotlin.math.exp(rangeLo) to kotlin.math.exp(rangeHi)
    }
}

data class Manifest(
    val modelFile: String,
    val variant: String,
    val input: InputSpec,
    val output: OutputSpec,
    val trainingConfigSha256: String? = null,
    val metrics: Map<String, Any?> = emptyMap(),
    val source: String = "keras-depth",
    val notes: String = "",
    val format: String = FORMAT,
    val version: Int = VERSION,
) {
    companion object {
        const val FORMAT = "keras-depth-manifest"
        const val VERSION = 1

        /** Parses and validates manifest JSON; [where] (a file name) prefixes every error message. */
        fun parse(text: String, where: String = "manifest"): Manifest {
            val root = try {
                Json.parse(text)
            } catch (e: IllegalArgumentException) {
                throw IllegalArgumentException("$where: ${e.message}")
            }
            return fromMap(Fields(where, "", asObject(where, "", root)))
        }

        private fun asObject(where: String, key: String, v: Any?): Map<String, Any?> {
            @Suppress("UNCHECKED_CAST")
            return v as? Map<String, Any?>
                ?: throw IllegalArgumentException("$where: '${key.ifEmpty { "(root)" }}' must be a JSON object, got ${typeName(v)}")
        }

        private fun fromMap(f: Fields): Manifest {
            // format and version first, so a foreign JSON file gets the clearest message.
            val format = f.optString("format", null)
            if (format != FORMAT) f.fail("format", "is ${pyRepr(format)}, expected '$FORMAT'")
            val versionRaw = f.raw("version")
            if (versionRaw !is Double || versionRaw != VERSION.toDouble()) f.fail("version", "is ${pyRepr(versionRaw)}, expected $VERSION")

            val input = parseInput(f.obj("input"))
            val output = parseOutput(f.obj("output"))
            val m = Manifest(
                modelFile = f.string("model_file"),
                variant = f.string("variant"),
                input = input,
                output = output,
                trainingConfigSha256 = f.optString("training_config_sha256", null),
                metrics = f.optObject("metrics") ?: emptyMap(),
                source = f.optString("source", "keras-depth")!!,
                notes = f.optString("notes", "")!!,
                format = FORMAT,
                version = VERSION,
            )
            f.rejectUnknown(setOf("model_file", "variant", "input", "output", "training_config_sha256", "metrics", "source", "notes", "format", "version"))
            return m
        }

        private fun parseInput(f: Fields): InputSpec {
            val dtype = f.dtype("dtype")
            val order = f.optString("channel_order", "RGB")!!
            val channelOrder = when (order) {
                "RGB" -> ChannelOrder.RGB
                "BGR" -> ChannelOrder.BGR
                else -> f.fail("channel_order", "is '$order', expected 'RGB' or 'BGR'")
            }
            val norm = f.optObject("normalization")?.let { n ->
                val nf = f.child("normalization", n)
                val scale = nf.doubles("scale", 3)
                val offset = nf.doubles("offset", 3)
                nf.rejectUnknown(setOf("scale", "offset"))
                Normalization(scale, offset)
            } ?: InputSpec(1, 1).normalization
            val spec = InputSpec(
                height = f.positiveInt("height"),
                width = f.positiveInt("width"),
                channels = if (f.has("channels")) f.positiveInt("channels") else 3,
                channelOrder = channelOrder,
                layout = f.optString("layout", "NHWC")!!,
                dtype = dtype,
                normalization = norm,
                quantization = f.quantization("quantization", dtype),
            )
            f.rejectUnknown(setOf("height", "width", "channels", "channel_order", "layout", "dtype", "normalization", "quantization"))
            return spec
        }

        private fun parseOutput(f: Fields): OutputSpec {
            val dtype = f.dtype("dtype")
            val kindName = f.optString("kind", "depth")!!
            val kind = OutputKind.values().firstOrNull { it.jsonName == kindName }
                ?: f.fail("kind", "is '$kindName', expected one of ${OutputKind.values().map { it.jsonName }}")
            val semName = f.optString("semantics", "metric")!!
            val semantics = Semantics.values().firstOrNull { it.jsonName == semName }
                ?: f.fail("semantics", "is '$semName', expected one of ${Semantics.values().map { it.jsonName }}")
            val range = if (f.has("range")) f.doubles("range", 2) else listOf(0.1, 10.0)
            // A log depth may be negative (ln 0.25 m); depth and disparity are positive (keras_depth.spec.check_output_range).
            if (kind == OutputKind.LOG_DEPTH) {
                if (!(range[0] < range[1])) f.fail("range", "is $range, must satisfy lo < hi")
            } else if (!(range[0] > 0 && range[0] < range[1])) f.fail("range", "is $range, must satisfy 0 < lo < hi for kind '$kindName'")
            val spec = OutputSpec(
                height = f.positiveInt("height"),
                width = f.positiveInt("width"),
                kind = kind,
                semantics = semantics,
                units = f.optString("units", "m")!!,
                range = range,
                dtype = dtype,
                quantization = f.quantization("quantization", dtype),
            )
            f.rejectUnknown(setOf("height", "width", "kind", "semantics", "units", "range", "dtype", "quantization"))
            return spec
        }

        private fun typeName(v: Any?): String = when (v) {
            null -> "null"
            is Map<*, *> -> "an object"
            is List<*> -> "an array"
            is String -> "a string"
            is Double -> "a number"
            is Boolean -> "a boolean"
            else -> v.javaClass.simpleName
        }

        private fun pyRepr(v: Any?): String = when (v) {
            null -> "None"
            is String -> "'$v'"
            is Double -> if (v == Math.floor(v) && !v.isInfinite()) v.toLong().toString() else v.toString()
            else -> v.toString()
        }
    }

    /** One JSON object being read, with its dotted key path for error messages. */
    private class Fields(val where: String, val prefix: String, val map: Map<String, Any?>) {
        fun path(key: String) = if (prefix.isEmpty()) key else "$prefix.$key"
        fun fail(key: String, what: String): Nothing = throw IllegalArgumentException("$where: '${path(key)}' $what")
        fun has(key: String) = key in map
        fun raw(key: String): Any? = map[key]
        fun child(key: String, m: Map<String, Any?>) = Fields(where, path(key), m)

        fun rejectUnknown(known: Set<String>) {
            val extra = map.keys - known
            if (extra.isNotEmpty()) fail(extra.first(), "is not a known key (expected some of ${known.sorted()})")
        }

        fun obj(key: String): Fields {
            if (key !in map) fail(key, "is missing")
            return child(key, optObject(key) ?: fail(key, "must be an object, got null"))
        }

        fun optObject(key: String): Map<String, Any?>? {
            val v = map[key] ?: return null
            @Suppress("UNCHECKED_CAST")
            return v as? Map<String, Any?> ?: fail(key, "must be an object, got ${typeName(v)}")
        }

        fun string(key: String): String {
            if (key !in map) fail(key, "is missing")
            return map[key] as? String ?: fail(key, "must be a string, got ${typeName(map[key])}")
        }

        fun optString(key: String, default: String?): String? {
            if (key !in map) return default
            val v = map[key] ?: return null
            return v as? String ?: fail(key, "must be a string, got ${typeName(v)}")
        }

        fun number(key: String): Double {
            if (key !in map) fail(key, "is missing")
            return map[key] as? Double ?: fail(key, "must be a number, got ${typeName(map[key])}")
        }

        fun int(key: String): Int {
            val d = number(key)
            if (d != Math.floor(d) || d.isInfinite() || d < Int.MIN_VALUE || d > Int.MAX_VALUE) fail(key, "must be an integer, got $d")
            return d.toInt()
        }

        fun positiveInt(key: String): Int {
            val i = int(key)
            if (i <= 0) fail(key, "must be positive, got $i")
            return i
        }

        fun doubles(key: String, n: Int): List<Double> {
            if (key !in map) fail(key, "is missing")
            val list = map[key] as? List<*> ?: fail(key, "must be an array of $n numbers, got ${typeName(map[key])}")
            if (list.size != n) fail(key, "must have $n numbers, got ${list.size}")
            return list.map { (it as? Double)?.takeIf { d -> d.isFinite() } ?: fail(key, "must hold finite numbers, got ${pyRepr(it)}") }
        }

        fun dtype(key: String): DType {
            val name = optString(key, "float32") ?: fail(key, "must be a string, got null")
            return DType.of(name) ?: fail(key, "is '$name', expected one of ${DType.values().map { it.jsonName }}")
        }

        fun quantization(key: String, dtype: DType): Quantization? {
            val q = optObject(key)
            if (q == null) {
                if (dtype.isInteger) fail(key, "is missing but ${path("dtype")} is ${dtype.jsonName}")
                return null
            }
            val qf = child(key, q)
            val scale = qf.number("scale")
            if (!(scale > 0) || scale.isInfinite()) qf.fail("scale", "must be a positive finite number, got $scale")
            val zp = qf.int("zero_point")
            qf.rejectUnknown(setOf("scale", "zero_point"))
            if (dtype.isInteger && zp !in dtype.minValue..dtype.maxValue) qf.fail("zero_point", "is $zp, outside the ${dtype.jsonName} range")
            return Quantization(scale, zp)
        }
    }
}
