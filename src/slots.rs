//! Generational slot maps: the storage behind every handle.
//!
//! An id packs `index | generation << 24 | family << 46 | owner << 48`, as
//! wgpu-core packs `index | epoch << 32`. A freed slot bumps its generation, so
//! an old id no longer matches; `owner` is the executor's tag, so an id from
//! another executor does not match either; `family` tells buffers, kernels and
//! the rest apart, so one kind of handle never passes for another. Zero is never
//! a valid id.

const INDEX_BITS: u32 = 24;
const GENERATION_BITS: u32 = 22;
const FAMILY_SHIFT: u32 = INDEX_BITS + GENERATION_BITS;

/// What kind of object a slot map holds; part of every id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Family {
    Buffer = 0,
    Kernel = 1,
    Executor = 2,
    Batch = 3,
}
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
const GENERATION_MASK: u64 = (1 << GENERATION_BITS) - 1;

pub(crate) struct Slots<T> {
    owner: u16,
    family: Family,
    entries: Vec<(u32, Option<T>)>,
    free: Vec<u32>,
    live: usize,
}

impl<T> Slots<T> {
    /// `owner` must be nonzero: it keeps every id nonzero.
    pub fn new(owner: u16, family: Family) -> Self {
        debug_assert!(owner != 0);
        Self { owner, family, entries: Vec::new(), free: Vec::new(), live: 0 }
    }

    /// Store `value`; gives it back when every one of the 2^24 slots is taken.
    pub fn insert(&mut self, value: T) -> Result<u64, T> {
        let index = match self.free.pop() {
            Some(i) => i,
            None => {
                if self.entries.len() as u64 > INDEX_MASK {
                    return Err(value);
                }
                self.entries.push((0, None));
                (self.entries.len() - 1) as u32
            }
        };
        let slot = &mut self.entries[index as usize];
        slot.0 = ((u64::from(slot.0) + 1) & GENERATION_MASK) as u32;
        slot.1 = Some(value);
        self.live += 1;
        Ok(u64::from(index)
            | u64::from(slot.0) << INDEX_BITS
            | (self.family as u64) << FAMILY_SHIFT
            | u64::from(self.owner) << 48)
    }

    fn locate(&self, id: u64) -> Option<usize> {
        let index = (id & INDEX_MASK) as usize;
        let generation = ((id >> INDEX_BITS) & GENERATION_MASK) as u32;
        let family = (id >> FAMILY_SHIFT) & 3;
        let owner = (id >> 48) as u16;
        let slot = self.entries.get(index)?;
        (owner == self.owner && family == self.family as u64 && slot.0 == generation && slot.1.is_some())
            .then_some(index)
    }

    pub fn get(&self, id: u64) -> Option<&T> {
        self.locate(id).and_then(|i| self.entries[i].1.as_ref())
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut T> {
        self.locate(id).and_then(|i| self.entries[i].1.as_mut())
    }

    pub fn remove(&mut self, id: u64) -> Option<T> {
        let i = self.locate(id)?;
        let value = self.entries[i].1.take();
        self.free.push(i as u32);
        self.live -= 1;
        value
    }

    #[allow(dead_code)]
    pub fn len(&self) -> usize {
        self.live
    }

    /// Take every live value out, for teardown.
    pub fn drain(&mut self) -> impl Iterator<Item = T> + '_ {
        self.live = 0;
        self.free.clear();
        self.entries.drain(..).filter_map(|(_, v)| v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_forged_and_foreign_ids_do_not_resolve() {
        let mut a = Slots::new(1, Family::Buffer);
        let mut b = Slots::new(2, Family::Buffer);
        let mut k = Slots::new(1, Family::Kernel);
        let x = a.insert("x").unwrap();
        let y = b.insert("y").unwrap();
        assert_ne!(x, 0);
        assert_eq!(a.get(x), Some(&"x"));
        assert_eq!(a.get(y), None, "id from another owner");
        let kid = k.insert("k").unwrap();
        assert_eq!(a.get(kid), None, "id of another family");
        assert_eq!(k.get(x), None, "id of another family");
        assert_eq!(a.get(x ^ 1 << 30), None, "forged generation");
        assert_eq!(a.remove(x), Some("x"));
        assert_eq!(a.get(x), None, "freed");
        let z = a.insert("z").unwrap();
        assert_ne!(z, x, "a reused slot gets a new generation");
        assert_eq!(a.get(x), None, "stale");
        assert_eq!(a.get(z), Some(&"z"));
        assert_eq!(a.len(), 1);
        assert_eq!(a.get(0), None);
    }
}
