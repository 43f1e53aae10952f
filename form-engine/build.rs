// sqlx's `migrate!` embeds the migration files when the crate is built, but on stable Rust it
// cannot ask cargo to watch their folder: without this, a new migration file would be missed
// until some other change rebuilt the crate.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
