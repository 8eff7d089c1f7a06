namespace Unjucks.Templates.Tests;

public sealed class ValuesTests
{
    [Test]
    public void Json_and_yaml_variables_load_to_the_same_portable_values()
    {
        var json = TemplateValues.Parse("{\"a\": 1, \"b\": [true, \"x\", 2.5, null], \"c\": {\"d\": \"e\"}}", "json");
        var yaml = TemplateValues.Parse("a: 1\nb: [true, x, 2.5, null]\nc:\n  d: e\n", "yaml");
        Assert.Multiple(() =>
        {
            Assert.That(json["a"], Is.EqualTo(1L));
            Assert.That(json["b"], Is.EqualTo(new object?[] { true, "x", 2.5, null }));
            Assert.That(((Dictionary<string, object?>)json["c"]!)["d"], Is.EqualTo("e"));
            Assert.That(yaml, Is.EquivalentTo(json));
        });
    }

    [TestCase("- a\n- b", "root must be a map")]
    [TestCase("deps: 1", "'deps' is reserved")]
    [TestCase("a: [1, 2", "not valid YAML or JSON")]
    [TestCase("", "the document is empty")]
    [TestCase("  \n# only a comment\n", "the document is empty")]
    public void Bad_variables_files_are_typed_errors(string text, string expected)
    {
        var ex = Assert.Throws<InvalidDataException>(() => TemplateValues.Parse(text, "vars"));
        Assert.That(ex!.Message, Does.Contain(expected));
    }

    [Test]
    public void A_variables_file_that_is_not_utf8_is_refused_not_silently_replaced()
    {
        var file = Path.Combine(Path.GetTempPath(), $"unjucks-vars-{Guid.NewGuid():N}.yaml");
        File.WriteAllBytes(file, [.. "name: caf"u8, 0xE9, .. "\n"u8]); // Latin-1 e-acute: an invalid UTF-8 sequence
        try
        {
            var ex = Assert.Throws<InvalidDataException>(() => TemplateValues.LoadFile(file));
            Assert.That(ex!.Message, Does.Contain("not valid UTF-8"));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Test]
    public void An_empty_map_is_no_variables()
    {
        Assert.That(TemplateValues.Parse("{}", "vars"), Is.Empty);
    }

    [Test]
    public async Task Reserved_global_variable_is_refused_before_anything_runs()
    {
        using var dir = new TempDir();
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => RenderJob.RunAsync(new RenderJobOptions
        {
            TemplateDirectories = [dir.Path],
            OutputDirectory = dir.Sub("out"),
            Variables = new Dictionary<string, object?> { ["template"] = "x" },
        }));
        Assert.That(ex!.Message, Does.Contain("'template'"));
    }
}
