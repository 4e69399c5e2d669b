use std::thread;

/// How many slots to fill, and on how many threads.
const LEN: usize = 1_000_000;
const WORKERS: usize = 4;

fn main() {
    // `Array('d', LEN)`: an ordinary vector, owned by `main`.
    let mut squares = vec![0.0_f64; LEN];

    // Cut the vector into one slice per thread. The slices do not overlap,
    // so each thread gets a `&mut` to its own part, and no lock is needed.
    let chunk_len = LEN.div_ceil(WORKERS);
    thread::scope(|scope| {
        for (chunk_index, chunk) in squares.chunks_mut(chunk_len).enumerate() {
            scope.spawn(move || {
                let first = chunk_index * chunk_len;
                for (offset, slot) in chunk.iter_mut().enumerate() {
                    let n = first + offset;
                    *slot = (n * n) as f64;
                }
            });
        }
    }); // Every thread has finished here, and `squares` is all `main`'s again.

    // Every slot holds its square: each was written by the thread that
    // owned it, and `main` sees all of it once the scope has joined them.
    for (n, &square) in squares.iter().enumerate() {
        assert_eq!(square, (n * n) as f64, "slot {n}");
    }
    println!("{WORKERS} threads filled {LEN} slots");
    println!("the first five: {:?}", &squares[..5]);
    println!("the last one: {:?}", squares[LEN - 1]);
}
