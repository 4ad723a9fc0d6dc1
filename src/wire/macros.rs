//! `wire_enum!`: protocol numbers as open sets.
//!
//! Each protocol number (content type, alert description, extension type...)
//! is a newtype over its wire integer with named constants. Unknown values
//! are not errors: they decode, print as hex, and re-encode unchanged, so an
//! inspector can show a value it has never heard of instead of failing.

/// Integers a `wire_enum!` can be made of.
pub trait WireInt: Copy {
    const WIDTH: usize;
    fn read(
        r: &mut super::codec::Reader<'_>,
        what: &'static str,
    ) -> Result<Self, super::codec::DecodeError>;
    fn write(self, out: &mut Vec<u8>);
    fn as_u64(self) -> u64;
}

impl WireInt for u8 {
    const WIDTH: usize = 1;
    fn read(
        r: &mut super::codec::Reader<'_>,
        what: &'static str,
    ) -> Result<Self, super::codec::DecodeError> {
        r.u8(what)
    }
    fn write(self, out: &mut Vec<u8>) {
        out.push(self);
    }
    fn as_u64(self) -> u64 {
        self.into()
    }
}

impl WireInt for u16 {
    const WIDTH: usize = 2;
    fn read(
        r: &mut super::codec::Reader<'_>,
        what: &'static str,
    ) -> Result<Self, super::codec::DecodeError> {
        r.u16(what)
    }
    fn write(self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_be_bytes());
    }
    fn as_u64(self) -> u64 {
        self.into()
    }
}

/// Declares a protocol-number newtype:
///
/// ```ignore
/// wire_enum! {
///     /// RFC 5246 §6.2.1
///     pub struct ContentType(u8) {
///         ChangeCipherSpec = 20 => "change_cipher_spec",
///     }
/// }
/// ```
///
/// gives `ContentType::ChangeCipherSpec`, `ContentType::ALL`,
/// `ContentType(20).name() == Some("change_cipher_spec")`, a `Debug` that
/// prints the name or the hex value, and a [`Codec`](super::codec::Codec).
#[macro_export]
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub struct $name:ident($int:ty) {
            $( $(#[$vmeta:meta])* $variant:ident = $value:literal => $text:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub $int);

        #[allow(non_upper_case_globals)]
        impl $name {
            $( $(#[$vmeta])* pub const $variant: Self = Self($value); )*

            /// Every named value, in declaration order.
            pub const ALL: &'static [Self] = &[ $( Self::$variant ),* ];

            /// The protocol's name for this value (snake_case as the RFCs
            /// write it), or `None` when the value is not one we know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($text), )*
                    _ => None,
                }
            }

            /// True when the value is one of the named constants.
            pub fn is_known(self) -> bool {
                self.name().is_some()
            }
        }

        impl ::std::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(
                        f,
                        "unknown ({:#0w$x})",
                        self.0,
                        w = 2 + 2 * <$int as $crate::wire::macros::WireInt>::WIDTH
                    ),
                }
            }
        }

        impl From<$int> for $name {
            fn from(v: $int) -> Self {
                Self(v)
            }
        }

        impl $crate::wire::codec::Codec for $name {
            fn encode(&self, out: &mut Vec<u8>) {
                <$int as $crate::wire::macros::WireInt>::write(self.0, out)
            }
            fn decode(
                r: &mut $crate::wire::codec::Reader<'_>,
            ) -> Result<Self, $crate::wire::codec::DecodeError> {
                <$int as $crate::wire::macros::WireInt>::read(r, stringify!($name)).map(Self)
            }
        }
    };
}
