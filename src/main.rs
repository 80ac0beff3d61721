/// mimalloc (see [`kiln::allocator`]) rather than the C library's allocator. Planning a long Dockerfile makes tens of
/// thousands of small, short-lived allocations: under glibc's malloc they were a quarter of
/// the front end's instructions, about 130 per allocation and as many per free (callgrind,
/// parse and plan of the 10,000-instruction benchmark file), and mimalloc cut the whole
/// front end's instruction count by 16%. Set here, for the binary (the benchmarks set the
/// same), rather than in the library, so that the fuzz targets keep the sanitizer's.
#[global_allocator]
static ALLOCATOR: kiln::allocator::Allocator = kiln::allocator::Allocator;

fn main() {
    std::process::exit(kiln::cli::main());
}
