package dev.kerasdepth.core

/**
 * A small strict JSON reader (RFC 8259) so depth-core needs nothing beyond the Kotlin stdlib.
 *
 * Values map to: objects -> [LinkedHashMap] (key order kept), arrays -> [List], strings -> [String],
 * numbers -> [Double], true/false -> [Boolean], null -> null.
 * Beyond RFC 8259 it accepts only `NaN`, `Infinity` and `-Infinity`, because Python's `json.dumps`
 * (which writes the manifest) emits them for non-finite metrics. Duplicate keys are rejected.
 */
object Json {
    fun parse(text: String): Any? {
        val p = Parser(text)
        p.skipWs()
        val v = p.value()
        p.skipWs()
        if (p.pos != text.length) p.fail("unexpected trailing ${p.describe()}")
        return v
    }

    private class Parser(val s: String) {
        var pos = 0

        fun fail(msg: String): Nothing {
            var line = 1
            var col = 1
            for (i in 0 until minOf(pos, s.length)) if (s[i] == '\n') { line++; col = 1 } else col++
            throw IllegalArgumentException("not valid JSON: $msg at line $line column $col")
        }

        fun describe(): String = if (pos >= s.length) "end of input" else "character '${s[pos]}'"

        fun skipWs() {
            while (pos < s.length && (s[pos] == ' ' || s[pos] == '\t' || s[pos] == '\n' || s[pos] == '\r')) pos++
        }

        fun expectWord(word: String) {
            if (!s.startsWith(word, pos)) fail("unexpected ${describe()}")
            pos += word.length
        }

        fun value(): Any? {
            if (pos >= s.length) fail("unexpected end of input")
            return when (val c = s[pos]) {
                '{' -> obj()
                '[' -> arr()
                '"' -> str()
                't' -> { expectWord("true"); true }
                'f' -> { expectWord("false"); false }
                'n' -> { expectWord("null"); null }
                'N' -> { expectWord("NaN"); Double.NaN }
                'I' -> { expectWord("Infinity"); Double.POSITIVE_INFINITY }
                else -> if (c == '-' || c in '0'..'9') num() else fail("unexpected ${describe()}")
            }
        }

        fun obj(): Map<String, Any?> {
            pos++ // '{'
            val out = LinkedHashMap<String, Any?>()
            skipWs()
            if (pos < s.length && s[pos] == '}') { pos++; return out }
            while (true) {
                skipWs()
                if (pos >= s.length || s[pos] != '"') fail("expected a string key, found ${describe()}")
                val key = str()
                if (key in out) fail("duplicate key '$key'")
                skipWs()
                if (pos >= s.length || s[pos] != ':') fail("expected ':' after key '$key', found ${describe()}")
                pos++
                skipWs()
                out[key] = value()
                skipWs()
                if (pos >= s.length) fail("unterminated object")
                when (s[pos]) {
                    ',' -> pos++
                    '}' -> { pos++; return out }
                    else -> fail("expected ',' or '}', found ${describe()}")
                }
            }
        }

        fun arr(): List<Any?> {
            pos++ // '['
            val out = ArrayList<Any?>()
            skipWs()
            if (pos < s.length && s[pos] == ']') { pos++; return out }
            while (true) {
                skipWs()
                out.add(value())
                skipWs()
                if (pos >= s.length) fail("unterminated array")
                when (s[pos]) {
                    ',' -> pos++
                    ']' -> { pos++; return out }
                    else -> fail("expected ',' or ']', found ${describe()}")
                }
            }
        }

        fun str(): String {
            pos++ // opening quote
            val sb = StringBuilder()
            while (true) {
                if (pos >= s.length) fail("unterminated string")
                val c = s[pos++]
                when {
                    c == '"' -> return sb.toString()
                    c == '\\' -> {
                        if (pos >= s.length) fail("unterminated escape")
                        when (val e = s[pos++]) {
                            '"' -> sb.append('"')
                            '\\' -> sb.append('\\')
                            '/' -> sb.append('/')
                            'b' -> sb.append('\b')
                            'f' -> sb.append('\u000C')
                            'n' -> sb.append('\n')
                            'r' -> sb.append('\r')
                            't' -> sb.append('\t')
                            'u' -> {
                                if (pos + 4 > s.length) fail("truncated \\u escape")
                                var code = 0
                                for (i in 0 until 4) {
                                    val d = Character.digit(s[pos + i], 16)
                                    if (d < 0) fail("bad hex digit in \\u escape")
                                    code = code * 16 + d
                                }
                                pos += 4
                                sb.append(code.toChar()) // surrogate pairs arrive as two escapes
                            }
                            else -> { pos--; fail("bad escape '\\$e'") }
                        }
                    }
                    c < ' ' -> { pos--; fail("control character in string") }
                    else -> sb.append(c)
                }
            }
        }

        fun num(): Double {
            val start = pos
            if (s[pos] == '-') {
                pos++
                if (s.startsWith("Infinity", pos)) { pos += 8; return Double.NEGATIVE_INFINITY }
            }
            if (pos >= s.length) fail("truncated number")
            if (s[pos] == '0') {
                pos++
                if (pos < s.length && s[pos] in '0'..'9') fail("leading zero in number")
            } else if (s[pos] in '1'..'9') {
                while (pos < s.length && s[pos] in '0'..'9') pos++
            } else fail("bad number")
            if (pos < s.length && s[pos] == '.') {
                pos++
                if (pos >= s.length || s[pos] !in '0'..'9') fail("expected digits after '.'")
                while (pos < s.length && s[pos] in '0'..'9') pos++
            }
            if (pos < s.length && (s[pos] == 'e' || s[pos] == 'E')) {
                pos++
                if (pos < s.length && (s[pos] == '+' || s[pos] == '-')) pos++
                if (pos >= s.length || s[pos] !in '0'..'9') fail("expected digits in exponent")
                while (pos < s.length && s[pos] in '0'..'9') pos++
            }
            return s.substring(start, pos).toDouble()
        }
    }
}
