// SPDX-License-Identifier: MIT
// A Rust program built with rustc -O: Cart::total ends in a tail call (`jmp compute`).
use std::env;
use std::thread::sleep;
use std::time::Duration;

pub struct Cart {
    items: Vec<u64>,
}

#[inline(never)]
pub fn compute(n: u64) -> u64 {
    sleep(Duration::from_millis(2));
    n * 3 + 1
}

impl Cart {
    #[inline(never)]
    pub fn total(&self) -> u64 {
        compute(self.items.len() as u64 + 9)
    }
}

fn main() {
    let n: usize = env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(3);
    let mut sum = 0;
    for i in 0..n {
        let cart = Cart { items: vec![i as u64] };
        sum += cart.total();
    }
    println!("{}", sum);
}
