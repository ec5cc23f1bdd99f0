//! The canonical serialisation the state hash is computed over: a fixed-order binary encoding (integers
//! big-endian, addresses as 20 bytes, hashes as 32, strings and lists length-prefixed, absent values
//! tagged), streamed into SHA-256 (hardware-accelerated where the CPU has it). Compact and free of
//! formatting choices, so the hash is cheap enough to compute at every checkpoint and depends on the
//! state's content only.

use std::collections::{BTreeMap, VecDeque};

use alloy::primitives::{Address, B256, U256};
use sha2::{Digest, Sha256};

/// The SHA-256 writer of canonical encodings.
pub struct Canon {
    hasher: Sha256,
    buf: Vec<u8>,
}

impl Default for Canon {
    fn default() -> Self {
        Self {
            hasher: Sha256::new(),
            buf: Vec::with_capacity(1 << 16),
        }
    }
}

impl Canon {
    fn put(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= 1 << 16 {
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
    }

    pub fn finish(mut self) -> B256 {
        self.hasher.update(&self.buf);
        B256::from_slice(&self.hasher.finalize())
    }

    pub fn u64(&mut self, v: u64) {
        self.put(&v.to_be_bytes());
    }

    pub fn bool(&mut self, v: bool) {
        self.put(&[v as u8]);
    }

    pub fn u256(&mut self, v: &U256) {
        self.put(&v.to_be_bytes::<32>());
    }

    pub fn address(&mut self, a: &Address) {
        self.put(a.as_slice());
    }

    pub fn b256(&mut self, h: &B256) {
        self.put(h.as_slice());
    }

    pub fn str(&mut self, s: &str) {
        self.u64(s.len() as u64);
        self.put(s.as_bytes());
    }

    pub fn opt<T>(&mut self, v: &Option<T>, f: impl FnOnce(&mut Self, &T)) {
        match v {
            None => self.put(&[0]),
            Some(x) => {
                self.put(&[1]);
                f(self, x);
            }
        }
    }

    pub fn seq<'a, T: 'a>(
        &mut self,
        items: impl ExactSizeIterator<Item = &'a T>,
        mut f: impl FnMut(&mut Self, &T),
    ) {
        self.u64(items.len() as u64);
        for x in items {
            f(self, x);
        }
    }

    pub fn map<K, V>(
        &mut self,
        m: &BTreeMap<K, V>,
        mut k: impl FnMut(&mut Self, &K),
        mut v: impl FnMut(&mut Self, &V),
    ) {
        self.u64(m.len() as u64);
        for (key, value) in m {
            k(self, key);
            v(self, value);
        }
    }

    pub fn deque<T>(&mut self, d: &VecDeque<T>, f: impl FnMut(&mut Self, &T)) {
        self.seq(d.iter(), f);
    }
}
