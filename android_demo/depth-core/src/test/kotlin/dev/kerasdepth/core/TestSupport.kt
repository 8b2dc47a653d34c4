package dev.kerasdepth.core

import org.junit.Assert.assertEquals
import org.junit.Assert.assertTrue
import org.junit.Assert.fail

object TestSupport {
    fun resource(path: String): String {
        val stream = TestSupport::class.java.getResourceAsStream(path) ?: error("test resource $path not on the classpath")
        return stream.bufferedReader(Charsets.UTF_8).use { it.readText() }
    }

    fun tinyManifestJson(): String = resource("/manifests/tiny_uint8.json")

    fun tinyManifest(): Manifest = Manifest.parse(tinyManifestJson(), "tiny_uint8.json")

    /** Asserts [block] throws IllegalArgumentException whose message contains every one of [needles]. */
    fun assertRejects(vararg needles: String, block: () -> Unit) {
        try {
            block()
        } catch (e: IllegalArgumentException) {
            for (n in needles) assertTrue("message '${e.message}' should mention '$n'", e.message!!.contains(n))
            return
        }
        fail("expected IllegalArgumentException mentioning ${needles.toList()}")
    }

    fun assertArrayClose(expected: FloatArray, actual: FloatArray, relTol: Float, absTol: Float = 0f, what: String = "array") {
        assertEquals("$what size", expected.size, actual.size)
        for (i in expected.indices) {
            val e = expected[i]
            val a = actual[i]
            if (e.isNaN() || a.isNaN()) {
                assertTrue("$what[$i]: expected $e, got $a", e.isNaN() && a.isNaN())
                continue
            }
            val tol = maxOf(absTol, relTol * kotlin.math.abs(e))
            assertTrue("$what[$i]: expected $e, got $a (tol $tol)", kotlin.math.abs(e - a) <= tol)
        }
    }
}

/** Test-only JSON writer (numbers that are whole print without a fraction) for mutating manifests. */
object JsonWriter {
    fun write(v: Any?): String = when (v) {
        null -> "null"
        is String -> "\"" + v.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\""
        is Double -> if (v.isNaN()) "NaN" else if (v == Math.floor(v) && !v.isInfinite()) v.toLong().toString() else v.toString()
        is Number -> v.toString()
        is Boolean -> v.toString()
        is Map<*, *> -> v.entries.joinToString(",", "{", "}") { write(it.key as String) + ":" + write(it.value) }
        is List<*> -> v.joinToString(",", "[", "]") { write(it) }
        else -> error("cannot write ${v.javaClass}")
    }

    /** Deep mutable copy of parsed JSON. */
    @Suppress("UNCHECKED_CAST")
    fun copy(v: Any?): Any? = when (v) {
        is Map<*, *> -> LinkedHashMap<String, Any?>().also { m -> v.forEach { (k, x) -> m[k as String] = copy(x) } }
        is List<*> -> v.map { copy(it) }.toMutableList()
        else -> v
    }
}
