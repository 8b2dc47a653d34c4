package dev.kerasdepth.core

import dev.kerasdepth.core.TestSupport.assertRejects
import org.junit.Assert.assertEquals
import org.junit.Assert.assertNull
import org.junit.Assert.assertTrue
import org.junit.Test

class ManifestTest {
    @Suppress("UNCHECKED_CAST")
    private fun mutated(edit: (MutableMap<String, Any?>) -> Unit): String {
        val m = JsonWriter.copy(Json.parse(TestSupport.tinyManifestJson())) as MutableMap<String, Any?>
        edit(m)
        return JsonWriter.write(m)
    }

    @Suppress("UNCHECKED_CAST")
    private fun MutableMap<String, Any?>.sub(key: String) = this[key] as MutableMap<String, Any?>

    @Test
    fun parsesHandWrittenManifest() {
        val m = TestSupport.tinyManifest()
        assertEquals("tiny.tflite", m.modelFile)
        assertEquals("tiny", m.variant)
        assertEquals(InputSpec(4, 4, 3, ChannelOrder.RGB, "NHWC", DType.UINT8,
            Normalization(List(3) { 0.00392156862745098 }, List(3) { 0.0 }), Quantization(0.00392156862745098, 0)), m.input)
        assertEquals(OutputKind.DISPARITY, m.output.kind)
        assertEquals(Semantics.RELATIVE, m.output.semantics)
        assertEquals(DType.UINT8, m.output.dtype)
        assertEquals(Quantization(0.05, 10), m.output.quantization)
        assertEquals(0.1, m.output.rangeLo, 0.0)
        assertEquals(10.0, m.output.rangeHi, 0.0)
        assertNull(m.trainingConfigSha256)
        assertEquals(0.125, m.metrics["abs_rel"])
        assertEquals("café \"quoted\"\n", m.metrics["note"])
        assertTrue((m.metrics["delta1"] as Double).isNaN())
        assertEquals(Manifest.FORMAT, m.format)
        assertEquals(1, m.version)
    }

    @Test
    fun defaultsMatchPythonDataclasses() {
        val m = Manifest.parse(mutated {
            val i = it.sub("input"); listOf("channel_order", "channels", "layout", "normalization", "quantization").forEach(i::remove); i["dtype"] = "float32"
            val o = it.sub("output"); listOf("kind", "semantics", "units", "range", "quantization").forEach(o::remove); o["dtype"] = "float32"
            listOf("metrics", "notes", "source", "training_config_sha256").forEach(it::remove)
        })
        assertEquals(InputSpec(4, 4), m.input)
        assertEquals(OutputSpec(4, 4), m.output)
        assertEquals("keras-depth", m.source)
        assertEquals(emptyMap<String, Any?>(), m.metrics)
    }

    @Test
    fun rejectsWrongFormatAndVersion() {
        assertRejects("'format'", "expected 'keras-depth-manifest'") { Manifest.parse(mutated { it["format"] = "other" }) }
        assertRejects("'format'", "None") { Manifest.parse(mutated { it.remove("format") }) }
        assertRejects("'version'", "is 2") { Manifest.parse(mutated { it["version"] = 2.0 }) }
        assertRejects("'version'") { Manifest.parse(mutated { it["version"] = "1" }) }
    }

    @Test
    fun rejectsBadDtypes() {
        assertRejects("'input.dtype'", "'uint16'") { Manifest.parse(mutated { it.sub("input")["dtype"] = "uint16" }) }
        assertRejects("'output.dtype'", "'int32'") { Manifest.parse(mutated { it.sub("output")["dtype"] = "int32" }) }
    }

    @Test
    fun integerDtypesNeedQuantization() {
        assertRejects("'input.quantization'", "input.dtype is uint8") { Manifest.parse(mutated { it.sub("input")["quantization"] = null }) }
        assertRejects("'output.quantization'", "output.dtype is uint8") { Manifest.parse(mutated { it.sub("output").remove("quantization") }) }
        assertRejects("'output.quantization.scale'") { Manifest.parse(mutated { it.sub("output").sub("quantization")["scale"] = 0.0 }) }
        assertRejects("'output.quantization.zero_point'", "integer") { Manifest.parse(mutated { it.sub("output").sub("quantization")["zero_point"] = 1.5 }) }
        assertRejects("'input.quantization.zero_point'", "outside") { Manifest.parse(mutated { it.sub("input").sub("quantization")["zero_point"] = 300.0 }) }
    }

    @Test
    fun rejectsBadRangeKindSemanticsOrder() {
        assertRejects("'output.range'", "0 < lo < hi") { Manifest.parse(mutated { it.sub("output")["range"] = listOf(0.0, 10.0) }) }
        assertRejects("'output.range'", "0 < lo < hi") { Manifest.parse(mutated { it.sub("output")["range"] = listOf(5.0, 1.0) }) }
        assertRejects("'output.range'", "2 numbers") { Manifest.parse(mutated { it.sub("output")["range"] = listOf(1.0) }) }
        assertRejects("'output.kind'", "log_depth") { Manifest.parse(mutated { it.sub("output")["kind"] = "normals" }) }
        // A log depth range may be negative (ln 0.25 m); it still needs lo < hi.
        val log = Manifest.parse(mutated { it.sub("output")["kind"] = "log_depth"; it.sub("output")["range"] = listOf(-1.5, 2.5) })
        assertEquals(OutputKind.LOG_DEPTH, log.output.kind)
        assertEquals(kotlin.math.exp(-1.5), log.output.depthRange.first, 1e-12)
        assertRejects("'output.range'", "lo < hi") {
            Manifest.parse(mutated { it.sub("output")["kind"] = "log_depth"; it.sub("output")["range"] = listOf(2.5, -1.5) })
        }
        assertRejects("'output.semantics'") { Manifest.parse(mutated { it.sub("output")["semantics"] = "absolute" }) }
        assertRejects("'input.channel_order'", "'RGB' or 'BGR'") { Manifest.parse(mutated { it.sub("input")["channel_order"] = "YUV" }) }
        assertRejects("'input.normalization.scale'", "3 numbers") { Manifest.parse(mutated { it.sub("input").sub("normalization")["scale"] = listOf(1.0) }) }
    }

    @Test
    fun rejectsMissingUnknownAndMistypedKeys() {
        assertRejects("'model_file'", "missing") { Manifest.parse(mutated { it.remove("model_file") }) }
        assertRejects("'input'", "missing") { Manifest.parse(mutated { it.remove("input") }) }
        assertRejects("'output.height'", "missing") { Manifest.parse(mutated { it.sub("output").remove("height") }) }
        assertRejects("'input.width'", "positive") { Manifest.parse(mutated { it.sub("input")["width"] = 0.0 }) }
        assertRejects("'input.height'", "integer") { Manifest.parse(mutated { it.sub("input")["height"] = 4.5 }) }
        assertRejects("'variant'", "string") { Manifest.parse(mutated { it["variant"] = 3.0 }) }
        assertRejects("'extra'", "not a known key") { Manifest.parse(mutated { it["extra"] = 1.0 }) }
        assertRejects("'output.colour'", "not a known key") { Manifest.parse(mutated { it.sub("output")["colour"] = "x" }) }
        assertRejects("'(root)'", "object") { Manifest.parse("[1]") }
        assertRejects("model.json", "not valid JSON") { Manifest.parse("{", "model.json") }
    }

    @Test
    fun whereNamesTheFile() {
        assertRejects("phone/model.json: 'format'") { Manifest.parse(mutated { it["format"] = "x" }, "phone/model.json") }
    }
}
