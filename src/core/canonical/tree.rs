//! What the OTLP/JSON walker of [`super::json`] needs of a parsed JSON
//! value, so that it reads either a `serde_json::Value` or the verifier's
//! borrowed tree (`verify::read::node`) by one grammar.
//!
//! Objects are iterated in the order of their member names (byte order, as
//! `serde_json::Map` iterates them without `preserve_order`), so that the
//! walker meets fields, and reports the first error, in the same order
//! whatever the representation. Numbers are `serde_json::Number`s, parsed
//! by serde_json's own rules.

use serde_json::{Number, Value};

/// One JSON value, as the walker looks at it.
pub enum Kind<'a, V> {
    Null,
    Bool(bool),
    Number(&'a Number),
    String(&'a str),
    Array(&'a [V]),
    Object,
}

/// A parsed JSON value without repeated member names.
pub trait Tree: Sized {
    /// An object's members in the byte order of their names.
    type Members<'a>: Iterator<Item = (&'a str, &'a Self)> + Default
    where
        Self: 'a;

    fn kind(&self) -> Kind<'_, Self>;
    /// The members of an object; `None` for any other value.
    fn members(&self) -> Option<Self::Members<'_>>;
    /// An object's member by name.
    fn get(&self, name: &str) -> Option<&Self>;
    /// The same value as a `serde_json::Value` (for the readers that only
    /// take one, on the few records that need them).
    fn to_value(&self) -> Value;

    fn is_null(&self) -> bool {
        matches!(self.kind(), Kind::Null)
    }
    fn as_bool(&self) -> Option<bool> {
        match self.kind() {
            Kind::Bool(b) => Some(b),
            _ => None,
        }
    }
    fn as_str(&self) -> Option<&str> {
        match self.kind() {
            Kind::String(s) => Some(s),
            _ => None,
        }
    }
    fn as_array(&self) -> Option<&[Self]> {
        match self.kind() {
            Kind::Array(a) => Some(a),
            _ => None,
        }
    }
    fn as_u64(&self) -> Option<u64> {
        match self.kind() {
            Kind::Number(n) => n.as_u64(),
            _ => None,
        }
    }
}

/// The members of a `serde_json::Map` as [`Tree::Members`].
#[derive(Default)]
pub struct MapMembers<'a>(Option<serde_json::map::Iter<'a>>);

impl<'a> Iterator for MapMembers<'a> {
    type Item = (&'a str, &'a Value);
    fn next(&mut self) -> Option<Self::Item> {
        self.0.as_mut()?.next().map(|(k, v)| (k.as_str(), v))
    }
}

impl Tree for Value {
    type Members<'a> = MapMembers<'a>;

    fn kind(&self) -> Kind<'_, Value> {
        match self {
            Value::Null => Kind::Null,
            Value::Bool(b) => Kind::Bool(*b),
            Value::Number(n) => Kind::Number(n),
            Value::String(s) => Kind::String(s),
            Value::Array(a) => Kind::Array(a),
            Value::Object(_) => Kind::Object,
        }
    }
    fn members(&self) -> Option<MapMembers<'_>> {
        self.as_object().map(|m| MapMembers(Some(m.iter())))
    }
    fn get(&self, name: &str) -> Option<&Value> {
        self.as_object().and_then(|m| m.get(name))
    }
    fn to_value(&self) -> Value {
        self.clone()
    }
}
