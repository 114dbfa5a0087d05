import Testing
@testable import TemplateEngine

/// Renders `template` (named "main") alongside optional partials.
func render(_ template: String, _ context: TemplateValue = [:], partials: [String: String] = [:]) throws -> String {
    var sources = partials
    sources["main"] = template
    return try TemplateLibrary(templates: sources).render("main", context)
}

@Suite struct InterpolationTests {
    @Test func escapesAllFiveHTMLCharacters() throws {
        #expect(try render("{{x}}", ["x": "& < > \" '"]) == "&amp; &lt; &gt; &quot; &#39;")
    }

    @Test func escapesAScriptValue() throws {
        let html = try render("<p>{{x}}</p>", ["x": "<script>alert('x')</script>"])
        #expect(html == "<p>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;</p>")
        #expect(!html.contains("<script"))
    }

    @Test func escapingKeepsNonASCIIText() throws {
        #expect(try render("{{x}}", ["x": "héllo → <wörld> 🚂"]) == "héllo → &lt;wörld&gt; 🚂")
    }

    @Test func tripleMustacheAndAmpersandWriteRawText() throws {
        #expect(try render("{{{x}}}|{{& x}}", ["x": "<b>&</b>"]) == "<b>&</b>|<b>&</b>")
    }

    @Test func numbersAndBooleansRenderAsText() throws {
        #expect(try render("{{i}} {{d}} {{b}}", ["i": 42, "d": 1.5, "b": true]) == "42 1.5 true")
    }

    @Test func missingValuesRenderNothing() throws {
        #expect(try render("[{{missing}}][{{a.b.c}}][{{{missing}}}]", [:]) == "[][][]")
        #expect(try render("[{{n}}]", ["n": nil]) == "[]")
    }

    @Test func dottedNamesWalkObjects() throws {
        let context: TemplateValue = ["a": ["b": ["c": "deep"]]]
        #expect(try render("{{a.b.c}}", context) == "deep")
        #expect(try render("{{#a}}{{b.c}}{{/a}}", context) == "deep")
    }

    @Test func dottedNameStopsAtTheFirstMatchOnTheStack() throws {
        // `b` is found in `a` (without `c`): the outer `b.c` must not be used.
        let context: TemplateValue = ["a": ["b": [:]], "b": ["c": "wrong"]]
        #expect(try render("{{#a}}[{{b.c}}]{{/a}}", context) == "[]")
    }

    @Test func implicitIteratorRendersTheCurrentItem() throws {
        #expect(try render("{{#xs}}<{{.}}>{{/xs}}", ["xs": ["a", "<b>"]]) == "<a><&lt;b&gt;>")
        #expect(try render("{{#xs}}{{.}},{{/xs}}", ["xs": [1, 2, 3]]) == "1,2,3,")
    }

    @Test func namesResolveFromInnerToOuterContext() throws {
        let context: TemplateValue = ["name": "outer", "site": "yard", "rows": [["name": "inner"], [:]]]
        #expect(try render("{{#rows}}{{name}}@{{site}} {{/rows}}{{name}}", context) == "inner@yard outer@yard outer")
    }

    @Test func convenienceInitialisersBuildTheTree() throws {
        #expect(TemplateValue.optional(nil as String?) == .null)
        #expect(TemplateValue.optional("x") == .string("x"))
        #expect(TemplateValue(["a", "b"]) == .list([.string("a"), .string("b")]))
        #expect(try render("{{#xs}}{{.}}{{/xs}}", ["xs": TemplateValue(["a", "b"])]) == "ab")
    }
}

@Suite struct SectionTests {
    @Test func listRendersOncePerItemWithTheItemPushed() throws {
        let context: TemplateValue = ["rows": [["n": 1], ["n": 2], ["n": 3]]]
        #expect(try render("{{#rows}}({{n}}){{/rows}}", context) == "(1)(2)(3)")
    }

    @Test func emptyListRendersNothingAndTriggersInverted() throws {
        let template = "{{#rows}}row{{/rows}}{{^rows}}No rows yet.{{/rows}}"
        #expect(try render(template, ["rows": []]) == "No rows yet.")
        #expect(try render(template, ["rows": ["x"]]) == "row")
    }

    @Test func truthinessOfEachKind() throws {
        let template = "{{#v}}yes{{/v}}{{^v}}no{{/v}}"
        let cases: [(TemplateValue, String)] = [
            (true, "yes"), (false, "no"), (nil, "no"), ("", "no"), ("x", "yes"),
            (0, "no"), (7, "yes"), (0.0, "no"), (0.5, "yes"), ([], "no"), ([1], "yes"), ([:], "yes"),
        ]
        for (value, expected) in cases {
            #expect(try render(template, ["v": value]) == expected, "value \(value)")
        }
        #expect(try render(template, [:]) == "no")
    }

    @Test func objectSectionPushesTheObject() throws {
        #expect(try render("{{#user}}{{name}}{{/user}}", ["user": ["name": "ada"]]) == "ada")
    }

    @Test func nonEmptyStringSectionPushesTheString() throws {
        #expect(try render("{{#flash}}<p>{{.}}</p>{{/flash}}", ["flash": "Saved"]) == "<p>Saved</p>")
    }

    @Test func nestedListsUseTheImplicitIterator() throws {
        #expect(try render("{{#m}}[{{#.}}{{.}}{{/.}}]{{/m}}", ["m": [[1, 2], [3]]]) == "[12][3]")
    }

    @Test func commentsRenderNothing() throws {
        #expect(try render("a{{! a comment }}b{{!\nmulti\nline}}c") == "abc")
    }

    @Test func setDelimiterChangesTheTagMarkers() throws {
        #expect(try render("{{=<% %>=}}<% x %>{{x}}<%={{ }}=%>{{x}}", ["x": "1"]) == "1{{x}}1")
    }
}

@Suite struct StandaloneLineTests {
    @Test func standaloneSectionTagsLeaveNoBlankLines() throws {
        let template = """
        <ul>
          {{#items}}
          <li>{{.}}</li>
          {{/items}}
        </ul>

        """
        #expect(try render(template, ["items": ["a", "b"]]) == "<ul>\n  <li>a</li>\n  <li>b</li>\n</ul>\n")
    }

    @Test func standaloneCommentAndInvertedLinesAreRemoved() throws {
        let template = "a\n  {{! note }}\n{{^x}}\nnone\n{{/x}}\nb"
        #expect(try render(template) == "a\nnone\nb")
    }

    @Test func crlfLinesAreStrippedToo() throws {
        #expect(try render("|\r\n{{#b}}\r\n{{/b}}\r\n|", ["b": true]) == "|\r\n|")
    }

    @Test func standaloneAtStartAndEndOfTemplate() throws {
        #expect(try render("  {{#b}}\n#{{/b}}\n/", ["b": true]) == "#\n/")
        #expect(try render("#{{#b}}\n/\n  {{/b}}", ["b": true]) == "#\n/\n")
    }

    @Test func inlineTagsKeepTheirLine() throws {
        #expect(try render(" {{#b}}YES{{/b}}\n", ["b": true]) == " YES\n")
        #expect(try render("  {{x}}\n", ["x": "v"]) == "  v\n")
    }

    @Test func standalonePartialIsIndentedLineByLine() throws {
        let html = try render("<ul>\n  {{> item}}\n</ul>", ["x": "a\nb"], partials: ["item": "<li>\n{{{x}}}\n</li>\n"])
        // The partial's own lines are indented; interpolated text is not.
        #expect(html == "<ul>\n  <li>\n  a\nb\n  </li>\n</ul>")
    }

    /// Indentation adds up through nested standalone partials, is dropped inside an inline
    /// partial, and is back to the outer level once each partial ends, row after row.
    @Test func nestedPartialsIndentByTheirOwnTagsAndRestoreTheOuterIndent() throws {
        let html = try render(
            "<table>\n{{#rows}}\n  {{> row}}\n{{/rows}}\n</table>\n",
            ["rows": [["n": "a"], ["n": "b"]]],
            partials: ["row": "<tr>\n  {{> cell}}\n</tr>\n", "cell": "<td>{{> inline}}</td>\n<td>{{n}}</td>\n", "inline": "x\ny"])
        #expect(html == """
            <table>
              <tr>
                <td>x
            y</td>
                <td>a</td>
              </tr>
              <tr>
                <td>x
            y</td>
                <td>b</td>
              </tr>
            </table>

            """)
    }
}

@Suite struct PartialTests {
    @Test func partialRendersWithTheCurrentContext() throws {
        #expect(try render("{{#user}}{{> name}}{{/user}}", ["user": ["n": "ada"]], partials: ["name": "<b>{{n}}</b>"]) == "<b>ada</b>")
    }

    @Test func partialInsideAListSeesEachItemAndOuterNames() throws {
        let context: TemplateValue = ["unit": "ms", "rows": [["p95": 12], ["p95": 30]]]
        let html = try render(
            "<table>\n{{#rows}}\n{{> partials/row}}\n{{/rows}}\n</table>", context,
            partials: ["partials/row": "<tr><td>{{p95}} {{unit}}</td></tr>\n"])
        #expect(html == "<table>\n<tr><td>12 ms</td></tr>\n<tr><td>30 ms</td></tr>\n</table>")
    }

    @Test func recursivePartialRendersATree() throws {
        let tree: TemplateValue = ["name": "a", "children": [["name": "b", "children": [["name": "c", "children": []]]]]]
        let html = try render("{{> node}}", tree, partials: ["node": "({{name}}{{#children}}{{> node}}{{/children}})"])
        #expect(html == "(a(b(c)))")
    }

    @Test func unboundedRecursionThrowsInsteadOfCrashing() throws {
        let library = try TemplateLibrary(templates: ["loop": "x{{> loop}}"])
        #expect(throws: TemplateError.self) { try library.render("loop", [:]) }
    }
}

@Suite struct InheritanceTests {
    static let layout = """
    <html>
    <head><title>{{$title}}Trainyard{{/title}}</title></head>
    <body>
    {{$content}}
    <p>nothing here</p>
    {{/content}}
    </body>
    </html>

    """

    @Test func childOverridesABlockAndKeepsTheDefaultOfAnother() throws {
        let page = """
        {{<layout}}
        {{$content}}
        <h1>{{heading}}</h1>
        {{/content}}
        {{/layout}}

        """
        let html = try render(page, ["heading": "Jobs"], partials: ["layout": Self.layout])
        #expect(html == "<html>\n<head><title>Trainyard</title></head>\n<body>\n<h1>Jobs</h1>\n</body>\n</html>\n")
    }

    @Test func defaultBlockRendersWhenNotOverridden() throws {
        let html = try render("{{<layout}}{{/layout}}", [:], partials: ["layout": Self.layout])
        #expect(html.contains("<title>Trainyard</title>"))
        #expect(html.contains("<p>nothing here</p>"))
    }

    @Test func textInsideAParentIsIgnored() throws {
        #expect(try render("{{<p}} junk {{$a}}A{{/a}} junk {{/p}}", partials: ["p": "[{{$a}}default{{/a}}]"]) == "[A]")
    }

    @Test func nestedParentsLetTheOutermostChildWin() throws {
        let partials = [
            "base": "<{{$title}}base{{/title}}|{{$body}}base body{{/body}}|{{$footer}}base footer{{/footer}}>",
            "section": "{{<base}}{{$title}}section{{/title}}{{$body}}section body{{/body}}{{/base}}",
        ]
        #expect(try render("{{<section}}{{$title}}page{{/title}}{{/section}}", partials: partials)
            == "<page|section body|base footer>")
    }

    @Test func blockOverridesUseTheContextAtTheBlock() throws {
        let context: TemplateValue = ["fruit": "apples", "nested": ["fruit": "bananas"]]
        let html = try render("{{<p}}{{$b}}I say {{fruit}}.{{/b}}{{/p}}", context,
                              partials: ["p": "{{#nested}}{{$b}}You say {{fruit}}.{{/b}}{{/nested}}"])
        #expect(html == "I say bananas.")
    }

    @Test func theSameParentCanBeUsedTwiceWithDifferentArguments() throws {
        let html = try render("{{<p}}{{$s}}1{{/s}}{{/p}} {{<p}}{{$s}}2{{/s}}{{/p}}", partials: ["p": "|{{$s}}.{{/s}}{{$d}} d{{/d}}|"])
        #expect(html == "|1 d| |2 d|")
    }

    @Test func recursionThroughParentsFollowsTheSpec() throws {
        let partials = [
            "parent": "{{$foo}}default content{{/foo}} {{$bar}}{{<parent2}}{{/parent2}}{{/bar}}",
            "parent2": "{{$foo}}parent2 default content{{/foo}} {{<parent}}{{$bar}}don't recurse{{/bar}}{{/parent}}",
        ]
        #expect(try render("{{<parent}}{{$foo}}override{{/foo}}{{/parent}}", partials: partials)
            == "override override override don't recurse")
    }

    @Test func standaloneParentIsIndented() throws {
        #expect(try render("Hi,\n  {{<p}}{{/p}}\n", partials: ["p": "one\ntwo\n"]) == "Hi,\n  one\n  two\n")
    }
}

@Suite struct RecordTests {
    static let keys = TemplateKeys(["name", "href", "when", "flag"])

    func row(_ name: String, flag: TemplateValue = .null) -> TemplateValue {
        .record(Self.keys, [.string(name), .string("/d/" + name), ["iso": "2026-01-01"], flag])
    }

    @Test func aRecordRendersLikeTheObjectWithTheSameMembers() throws {
        let template = "{{#rows}}<a href=\"{{href}}\">{{name}}</a> {{when.iso}}{{#flag}}!{{/flag}}{{^flag}}.{{/flag}} {{title}}|{{/rows}}"
        let records: TemplateValue = ["title": "T", "rows": [row("a<b"), row("c", flag: true)]]
        let objects: TemplateValue = ["title": "T", "rows": [
            ["name": "a<b", "href": "/d/a<b", "when": ["iso": "2026-01-01"], "flag": .null],
            ["name": "c", "href": "/d/c", "when": ["iso": "2026-01-01"], "flag": true],
        ]]
        let out = try render(template, records)
        #expect(out == (try render(template, objects)))
        #expect(out == "<a href=\"/d/a&lt;b\">a&lt;b</a> 2026-01-01. T|<a href=\"/d/c\">c</a> 2026-01-01! T|")
        #expect(try render("{{#r}}{{missing}}{{name}}{{/r}}", ["r": row("x")]) == "x", "a name the record lacks is looked up outside it")
        #expect(row("x")["href"] == .string("/d/x") && row("x")["nope"] == nil)
    }

    @Test func aRecordMemberShadowsTheOuterNameEvenWhenNull() throws {
        // `flag` is .null in the row: the lookup stops there and does not reach the outer `flag`.
        let context: TemplateValue = ["flag": "outer", "rows": [row("a"), row("b", flag: "inner")]]
        #expect(try render("{{#rows}}{{name}}={{flag}};{{/rows}}", context) == "a=;b=inner;")
        #expect(try render("{{#rows}}{{#rows}}{{name}}{{/rows}}|{{/rows}}", ["rows": [row("a")]]) == "a|",
                "a name the row lacks is the outer one, even the list being walked")
    }

    @Test func aRecordWithFewerValuesThanNamesLooksTheRestUpOutside() throws {
        let short = TemplateValue.record(Self.keys, [.string("only-name")])
        #expect(try render("{{#r}}{{name}}/{{href}}{{/r}}", ["href": "/outer", "r": short]) == "only-name//outer")
        #expect(try render("{{#r}}[{{name}}]{{/r}}", ["name": "outer", "r": .record(Self.keys, [])]) == "[outer]")
    }
}

@Suite struct RowsAndFormattedTests {
    static let keys = TemplateKeys(["name", "when", "flag"])
    static let year = TemplateFormatter { value, buffer in
        var i = 0
        for byte in "year ".utf8 { buffer[i] = byte; i += 1 }
        return i + TemplateFormatter.decimal(value, into: UnsafeMutableBufferPointer(rebasing: buffer[i...]))
    }
    static let unsafeText = TemplateFormatter { _, buffer in
        for (i, byte) in "<b>&'\"".utf8.enumerated() { buffer[i] = byte }
        return 6
    }

    @Test func rowsRenderLikeAListOfTheSameRecords() throws {
        let template = "{{#rows}}{{name}} {{#when}}{{.}}{{/when}}{{#flag}}!{{/flag}}{{^flag}}.{{/flag}} {{title}}|{{/rows}}"
        let records: [[TemplateValue]] = [[.string("a<b"), 2026, .null], [.string("c"), 1999, true]]
        let asRows: TemplateValue = ["title": "T", "rows": .rows(Self.keys, records: records)]
        let asList: TemplateValue = ["title": "T", "rows": .list(records.map { .record(Self.keys, $0) })]
        let out = try render(template, asRows)
        #expect(out == "a&lt;b 2026. T|c 1999! T|")
        #expect(out == (try render(template, asList)))
    }

    @Test func emptyRowsAreFalsyAndAShortRowIsPaddedWithNull() throws {
        let none = TemplateValue.rows(Self.keys, [])
        #expect(!none.isTruthy)
        #expect(try render("{{#rows}}x{{/rows}}{{^rows}}none{{/rows}}", ["rows": none]) == "none")
        let padded = TemplateValue.rows(Self.keys, records: [[.string("only")], [.string("b"), .null, "f"]])
        #expect(try render("{{#rows}}{{name}}:{{flag}};{{/rows}}", ["flag": "outer", "rows": padded]) == "only:;b:f;",
                "the padding is .null, which shadows the outer name like any member")
    }

    @Test func aFormattedValueIsWrittenByItsFormatterAndEscaped() throws {
        #expect(try render("{{y}}", ["y": .formatted(Self.year, 1969)]) == "year 1969")
        #expect(try render("{{y}}", ["y": .formatted(Self.year, -12)]) == "year -12")
        #expect(try render("{{y}}|{{{y}}}", ["y": .formatted(Self.unsafeText, 0)]) == "&lt;b&gt;&amp;&#39;&quot;|<b>&'\"")
        #expect(try render("{{#y}}shown{{/y}}", ["y": .formatted(Self.year, 0)]) == "shown")
        #expect(Self.year.text(7) == "year 7")
    }

    @Test func decimalWritesEveryInt64AndRefusesTooLittleRoom() {
        for n: Int64 in [0, 7, -7, 10, 1234567890, .max, .min] {
            let text = String(unsafeUninitializedCapacity: 24) { TemplateFormatter.decimal(n, into: $0) }
            #expect(text == String(n))
        }
        let tiny = String(unsafeUninitializedCapacity: 2) { TemplateFormatter.decimal(123, into: UnsafeMutableBufferPointer(rebasing: $0[0..<2])) }
        #expect(tiny == "")
    }
}
