use crate::common::*;

#[test]
fn one_row_per_record_in_input_order_with_reasons() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    env.write(
        "ips.txt",
        "1.0.0.1\nbogus\n\n10.0.0.1\n2a00::1\n9.9.9.9\n::ffff:5.5.5.5\n4.0.0.1\n",
    );
    let out = env.run(&["lookup", "--db", db, "ips.txt"]).ok();
    assert_eq!(
        out.stdout,
        "ip,country,latitude,longitude,accuracy_radius,network,status,reason\n\
         1.0.0.1,US,37.751,-97.822,1000,1.0.0.0/24,found,\n\
         bogus,,,,,,invalid,not_an_address\n\
         10.0.0.1,,,,,,not_found,reserved\n\
         2a00::1,GB,51.5,-0.1,50,2a00::/16,found,\n\
         9.9.9.9,,,,,,not_found,no_record\n\
         5.5.5.5,FR,48.85,2.35,20,5.5.5.0/24,found,\n\
         4.0.0.1,,,,,4.0.0.0/24,found,\n"
    );
}

#[test]
fn jsonl_rows_and_direct_arguments() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    let out = env
        .run(&[
            "lookup",
            "--db",
            db,
            "--format",
            "jsonl",
            "1.0.0.1",
            "2.0.0.0/23",
            "nonsense",
        ])
        .ok();
    let rows: Vec<serde_json::Value> = out.stdout.lines().map(json).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["country"], "US");
    assert_eq!(rows[0]["latitude"], 37.751);
    assert_eq!(rows[0]["network"], "1.0.0.0/24");
    assert_eq!(rows[1]["ip"], "2.0.0.0/23");
    assert_eq!(rows[1]["country"], "DE");
    assert_eq!(rows[1]["network"], "2.0.0.0/23");
    assert_eq!(rows[2]["status"], "invalid");
    assert_eq!(rows[2]["reason"], "not_an_address");
}

#[test]
fn order_is_kept_across_many_chunks_and_threads() {
    let env = TestEnv::new();
    let fx = Fixtures::build(env.dir.path());
    let db = fx.nested.to_str().unwrap();
    let mut text = String::new();
    for i in 0..600_000u32 {
        text.push_str(&format!(
            "{}.0.{}.{}\n",
            [1, 2, 9][(i % 3) as usize],
            (i >> 8) & 255,
            i & 255
        ));
    }
    env.write("ips.txt", &text);
    let out = env
        .run(&["lookup", "--db", db, "ips.txt", "--threads", "2"])
        .ok();
    let ips: Vec<&str> = out
        .stdout
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    let expected: Vec<&str> = text.lines().collect();
    assert_eq!(ips.len(), expected.len());
    assert!(ips == expected, "rows out of order");
}
