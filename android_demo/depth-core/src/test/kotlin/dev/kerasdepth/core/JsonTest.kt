package dev.kerasdepth.core

import dev.kerasdepth.core.TestSupport.assertRejects
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

class JsonTest {
    @Test
    fun parsesAllValueKinds() {
        val v = Json.parse("""{"a": [1, -2.5, 3e2, 0, -0.0], "b": {"c": true, "d": false, "e": null}, "s": "x"}""") as Map<*, *>
        assertEquals(listOf(1.0, -2.5, 300.0, 0.0, -0.0), v["a"])
        val b = v["b"] as Map<*, *>
        assertEquals(true, b["c"])
        assertEquals(false, b["d"])
        assertTrue(b.containsKey("e"))
        assertNull(b["e"])
        assertEquals("x", v["s"])
        assertEquals(listOf("a", "b", "s"), v.keys.toList())
    }

    @Test
    fun decodesStringEscapes() {
        assertEquals("q\"b\\s/\b\u000C\n\r\té😀", Json.parse("\"q\\\"b\\\\s\\/\\b\\f\\n\\r\\t\\u00e9\\ud83d\\ude00\""))
    }

    @Test
    fun acceptsPythonNonFiniteNumbers() {
        val v = Json.parse("[NaN, Infinity, -Infinity]") as List<*>
        assertTrue((v[0] as Double).isNaN())
        assertEquals(Double.POSITIVE_INFINITY, v[1])
        assertEquals(Double.NEGATIVE_INFINITY, v[2])
    }

    @Test
    fun rejectsMalformedInput() {
        for (bad in listOf("", "{", "[1,]", "{\"a\":1,}", "01", "1.", "1e", "-", "{'a':1}", "\"\\x\"", "\"\\u12g4\"",
                "\"tab\there\"", "[1] 2", "tru", "{\"a\" 1}", "{\"a\":1 \"b\":2}", "[1 2]", "// c\n1")) {
            assertRejects("not valid JSON") { Json.parse(bad) }
        }
    }

    @Test
    fun rejectsDuplicateKeysNamingThem() {
        assertRejects("duplicate key 'a'") { Json.parse("""{"a": 1, "a": 2}""") }
    }

    @Test
    fun errorGivesLineAndColumn() {
        assertRejects("line 2 column 3") { Json.parse("[1,\n  x]") }
    }
}
