fn main() {
    std::process::exit(embedrec::cli::main());
}
