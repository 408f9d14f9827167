//! How a host or a caller proves who it is to the NATS server, as NATS
//! users already hold it: a user and password, or a token, given in the
//! server's URL (`nats://user:pass@host:4222`, `nats://token@host:4222`)
//! or on their own, or an nkey (the seed signs the server's nonce). The
//! URL is kept without them, so that it can be shown.

use async_nats::ConnectOptions;

/// Credentials for the NATS server; none by default.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Credentials {
    /// A user name, with [`Credentials::password`].
    pub user: Option<String>,
    /// The user's password.
    pub password: Option<String>,
    /// An authentication token.
    pub token: Option<String>,
    /// An nkey seed (`SU...`), as an nkey seed file holds it.
    pub nkey_seed: Option<String>,
}

// Secrets are never printed, not even in a debug dump.
impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({})", self.method())
    }
}

impl Credentials {
    /// Splits the credentials off `url`: the URL without them, and them.
    pub fn from_url(url: &str) -> (String, Credentials) {
        let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
        let host_starts = rest.find('/').unwrap_or(rest.len());
        let Some(at) = rest[..host_starts].rfind('@') else {
            return (url.to_owned(), Credentials::default());
        };
        let (userinfo, host) = (&rest[..at], &rest[at + 1..]);
        let credentials = match userinfo.split_once(':') {
            Some((user, password)) => Credentials {
                user: Some(user.to_owned()),
                password: Some(password.to_owned()),
                ..Credentials::default()
            },
            None => Credentials {
                token: Some(userinfo.to_owned()),
                ..Credentials::default()
            },
        };
        let bare = match scheme {
            "" => host.to_owned(),
            scheme => format!("{scheme}://{host}"),
        };
        (bare, credentials)
    }

    /// These, with each that `over` gives taking the place of its own.
    pub fn overridden_by(self, over: Credentials) -> Credentials {
        Credentials {
            user: over.user.or(self.user),
            password: over.password.or(self.password),
            token: over.token.or(self.token),
            nkey_seed: over.nkey_seed.or(self.nkey_seed),
        }
    }

    /// How they authenticate, for messages: `nkey`, `user and password`,
    /// `token` or `no credentials`.
    pub fn method(&self) -> &'static str {
        match (&self.nkey_seed, &self.user, &self.token) {
            (Some(_), _, _) => "nkey",
            (None, Some(_), _) => "user and password",
            (None, None, Some(_)) => "token",
            (None, None, None) => "no credentials",
        }
    }

    /// `options` that send these.
    pub(crate) fn apply(&self, options: ConnectOptions) -> ConnectOptions {
        match (&self.nkey_seed, &self.user, &self.token) {
            (Some(seed), _, _) => options.nkey(seed.clone()),
            (None, Some(user), _) => {
                options.user_and_password(user.clone(), self.password.clone().unwrap_or_default())
            }
            (None, None, Some(token)) => options.token(token.clone()),
            (None, None, None) => options,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_come_off_the_url_which_is_kept_without_them() {
        let (url, credentials) = Credentials::from_url("nats://ada:s3cret@127.0.0.1:4222");
        assert_eq!(url, "nats://127.0.0.1:4222");
        assert_eq!(credentials.user.as_deref(), Some("ada"));
        assert_eq!(credentials.password.as_deref(), Some("s3cret"));
        let (url, credentials) = Credentials::from_url("nats://t0ken@host:4222");
        assert_eq!(
            (url.as_str(), credentials.method()),
            ("nats://host:4222", "token")
        );
        let (url, credentials) = Credentials::from_url("nats://host:4222");
        assert_eq!(
            (url.as_str(), credentials.method()),
            ("nats://host:4222", "no credentials")
        );
        assert_eq!(
            format!("{:?}", Credentials::from_url("nats://a:b@h").1),
            "Credentials(user and password)"
        );
    }
}
