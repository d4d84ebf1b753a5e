//! Closed sets of names that scenario files write and reports print, each from one table.
//!
//! [`named!`](crate::names::named) declares a fieldless enum with the name of every variant;
//! the same table parses (`T::parse`), prints (`T::name`) and lists the allowed values in
//! errors (`T::NAMES`), so the resolver and the reports cannot drift apart. Enums whose
//! variants carry data (a strategy's spec, a rollback policy's delays) get a named *tag*
//! enum of this kind.

/// A closed set of names: the variants of a [`named!`](crate::names::named) enum.
pub trait Named: Sized + Copy + 'static {
    /// Every variant, in declaration order (the order errors list them).
    const ALL: &'static [Self];
    /// Every variant's name, in the same order.
    const NAMES: &'static [&'static str];

    /// The name written in scenario files and reports.
    fn name(self) -> &'static str;

    /// The variant called `text`, if any.
    fn parse(text: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.name() == text)
    }
}

/// Declares a fieldless enum whose variants are written as the given names, with
/// [`Named`](crate::names::Named) and inherent `name`, `parse`, `ALL` and `NAMES`.
///
/// ```text
/// named! {
///     /// How a version reads.
///     pub enum ReadMode {
///         /// Only the old structure.
///         Old = "old",
///         New = "new",
///     }
/// }
/// ```
macro_rules! named {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $text:literal, )+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            /// Every variant's name, in declaration order.
            pub const NAMES: &'static [&'static str] = &[$($text),+];

            /// The name written in scenario files and reports.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }

            /// The variant called `text`, if any.
            pub fn parse(text: &str) -> Option<$name> {
                <$name as $crate::names::Named>::parse(text)
            }
        }

        impl $crate::names::Named for $name {
            const ALL: &'static [$name] = $name::ALL;
            const NAMES: &'static [&'static str] = $name::NAMES;

            fn name(self) -> &'static str {
                $name::name(self)
            }
        }
    };
}
pub(crate) use named;

#[cfg(test)]
mod tests {
    use super::Named;

    named! {
        /// A test set.
        enum Colour {
            Red = "red",
            DarkBlue = "dark_blue",
        }
    }

    #[test]
    fn parses_what_it_prints() {
        for &c in Colour::ALL {
            assert_eq!(Colour::parse(c.name()), Some(c));
        }
        assert_eq!(Colour::NAMES, ["red", "dark_blue"]);
        assert_eq!(<Colour as Named>::parse("blue"), None);
    }
}
