//! Enums stored as text (statuses, kinds, roles): one table of variant ⇄ text gives `as_str`,
//! `ALL`, `FromStr`, `Display` and serde (as the text), so the database's text and the Rust type cannot drift apart.

/// `text_enum! { pub enum Name { Variant => "TEXT", … } }`, with any attributes before `pub`.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $($(#[$variant_meta:meta])* $variant:ident => $text:literal),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$variant_meta])* $variant),+
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored text.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok(Self::$variant),)+
                    other => Err(format!("unknown {} {other:?}", stringify!($name))),
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                String::deserialize(d)?.parse().map_err(::serde::de::Error::custom)
            }
        }
    };
}

pub(crate) use text_enum;

#[cfg(test)]
mod tests {
    text_enum! {
        /// A test enum.
        #[derive(PartialOrd, Ord)]
        pub enum Level { Low => "LOW", High => "HIGH" }
    }

    #[test]
    fn text_round_trips_and_unknown_text_is_refused() {
        for level in Level::ALL {
            assert_eq!(level.as_str().parse::<Level>(), Ok(*level));
            assert_eq!(level.to_string(), level.as_str());
        }
        assert_eq!(Level::ALL, &[Level::Low, Level::High]);
        assert!(Level::Low < Level::High);
        assert_eq!(
            "low".parse::<Level>(),
            Err("unknown Level \"low\"".to_owned())
        );
    }

    #[test]
    fn serde_uses_the_stored_text() {
        assert_eq!(serde_json::to_value(Level::High).unwrap(), "HIGH");
        assert_eq!(
            serde_json::from_value::<Level>(serde_json::json!("LOW")).unwrap(),
            Level::Low
        );
        assert!(serde_json::from_value::<Level>(serde_json::json!("Low")).is_err());
    }
}
