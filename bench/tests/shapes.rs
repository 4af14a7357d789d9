//! Each shape of `hive-bench shapes` is the input it says: checked, it reports the codes it
//! names and no others.

use hive_compiler::pipeline;
use hive_compiler::workspace::Disk;

#[test]
fn every_shape_reports_what_it_names() {
    let dir = std::env::temp_dir().join(format!("hive-shapes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (i, shape) in hive_bench::shapes::ALL.iter().enumerate() {
        let path = dir.join(format!("shape{i}.hive"));
        std::fs::write(&path, (shape.make)(shape.sizes[0].min(200))).expect("write shape");
        let loaded = pipeline::check(&Disk, std::slice::from_ref(&path), None);
        let codes: Vec<&str> = loaded.diagnostics().iter().map(|d| d.code.code()).collect();
        assert!(
            codes.iter().all(|c| shape.codes.contains(c)),
            "{}: {codes:?}",
            shape.name
        );
        assert_eq!(codes.is_empty(), shape.codes.is_empty(), "{}", shape.name);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
