//! How diagnostics are rendered where the fixtures cannot show it.

use hive_tests::render_check;

/// An import cycle whose second file has its `import` at the end of a long line: that file's
/// snippet shows a window of the line and is headed with the file's own line and column.
#[test]
fn a_cut_line_in_a_second_file_heads_its_snippet_with_the_files_own_column() {
    let dir = std::env::temp_dir().join(format!("hive-render-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let padding = format!("/* {} */ ", "é".repeat(300));
    std::fs::write(dir.join("a.hive"), "import \"b.hive\"\n").unwrap();
    std::fs::write(
        dir.join("b.hive"),
        format!("\n{padding}import \"a.hive\"\n"),
    )
    .unwrap();
    let rendered = render_check(&dir.join("a.hive"));

    let column = padding.chars().count() + "import ".len() + 1;
    let head = format!("b.hive:2:{column} ]");
    assert!(rendered.contains(&head), "no `{head}` in:\n{rendered}");
    assert!(rendered.contains("a.hive:1:8 ]"), "{rendered}");
    let line = rendered
        .lines()
        .find(|l| l.contains("import \"a.hive\""))
        .unwrap_or_else(|| panic!("the cut line is not shown:\n{rendered}"));
    assert!(line.contains('…'), "{line}");
    assert!(line.chars().count() < 120, "{line}");

    // A short line is shown whole, and its head counts characters, not bytes.
    std::fs::write(dir.join("b.hive"), "/* é */ import \"a.hive\"\n").unwrap();
    let rendered = render_check(&dir.join("a.hive"));
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(rendered.contains("b.hive:1:16 ]"), "{rendered}");
    assert!(!rendered.contains('…'), "{rendered}");
}
