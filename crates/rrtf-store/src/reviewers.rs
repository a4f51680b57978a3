//! The review server's accounts and sessions (`rrtf review users`, `rrtf review serve --auth`).
//!
//! A reviewer is a name with a token: 32 random bytes from the thread's CSPRNG, shown once when
//! made, of which only the SHA-256 is stored (a token is as strong as a 256-bit key, so a slow
//! password hash would add nothing; a database leak gives no usable token). Logging in with a
//! token opens a session: another 32 random bytes go to the browser as a cookie, the database
//! keeps their SHA-256, the session's CSRF token and its expiry on the database's clock. A
//! session is valid while unexpired and its reviewer not removed; removing a reviewer or giving
//! it a new token ends its sessions. The reviewer's row stays after removal: the audit trail
//! names it.

use rand::RngCore;
use serde::Serialize;

use crate::{Result, Store, StoreError, sha256_hex};

/// A reviewer account, as `rrtf review users list` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct ReviewerAccount {
    pub name: String,
    pub created_by: String,
    pub created_at: String,
    /// When `rrtf review users remove` removed it; None while it may log in.
    pub revoked_at: Option<String>,
    /// Its unexpired sessions.
    pub sessions: i64,
}

/// A logged-in reviewer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReviewSession {
    /// The cookie's value (only its SHA-256 is stored).
    pub cookie: String,
    /// The token every form of this session carries.
    pub csrf: String,
    /// Who: the author of every action in this session.
    pub reviewer: String,
}

/// 32 random bytes, hex, after `prefix` (`rrtf_rv_` for tokens: recognisable in a leak scan).
fn secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// Log reviewer `id` out everywhere.
async fn end_sessions(tx: &mut sqlx::Transaction<'_, sqlx::Any>, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM review_sessions WHERE reviewer_id = $1")
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The token prefix.
const TOKEN_PREFIX: &str = "rrtf_rv_";

/// A reviewer's name: what the audit trail shows as the author.
pub fn check_reviewer_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid(format!(
            "bad reviewer name {name:?}: use 1 to 64 letters, digits, '.', '_', '-' or '@'"
        )))
    }
}

impl Store {
    /// Make reviewer `name` (by `created_by`) and return its token, which is not stored and
    /// cannot be shown again.
    pub async fn add_reviewer(&self, name: &str, created_by: &str) -> Result<String> {
        check_reviewer_name(name)?;
        let token = secret(TOKEN_PREFIX);
        let done = sqlx::query(
            "INSERT INTO reviewers (name, token_sha256, created_by) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(sha256_hex(&token))
        .bind(created_by)
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Invalid(format!(
                "reviewer {name} exists: `rrtf review users reset {name}` gives it a new token"
            )));
        }
        Ok(token)
    }

    /// Give reviewer `name` a new token (its old one and its sessions stop working; a removed
    /// reviewer may log in again) and return it.
    pub async fn reset_reviewer(&self, name: &str) -> Result<String> {
        let token = secret(TOKEN_PREFIX);
        let mut tx = self.pool.begin().await?;
        let id = self.reviewer_id(&mut tx, name).await?;
        sqlx::query("UPDATE reviewers SET token_sha256 = $1, revoked_at = NULL WHERE id = $2")
            .bind(sha256_hex(&token))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        end_sessions(&mut tx, id).await?;
        tx.commit().await?;
        Ok(token)
    }

    /// Remove reviewer `name`: its token stops working and its sessions end now. Its reviews
    /// stay in the audit trail under its name.
    pub async fn remove_reviewer(&self, name: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let id = self.reviewer_id(&mut tx, name).await?;
        sqlx::query(
            "UPDATE reviewers SET revoked_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') \
             WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        end_sessions(&mut tx, id).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn reviewer_id(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        name: &str,
    ) -> Result<i64> {
        sqlx::query_scalar("SELECT id FROM reviewers WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| {
                StoreError::Invalid(format!(
                    "no reviewer {name}: list them with `rrtf review users list`, \
                     add one with `rrtf review users add {name}`"
                ))
            })
    }

    /// Every reviewer account, by name.
    pub async fn reviewers(&self) -> Result<Vec<ReviewerAccount>> {
        let now = self.clock_ms().await?;
        Ok(sqlx::query_as(
            "SELECT v.name, v.created_by, v.created_at, v.revoked_at, \
                    CAST(count(s.id_sha256) AS BIGINT) AS sessions \
             FROM reviewers v \
             LEFT JOIN review_sessions s ON s.reviewer_id = v.id AND s.expires_ms > $1 \
             GROUP BY v.id, v.name, v.created_by, v.created_at, v.revoked_at \
             ORDER BY v.name",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Log in with `token`: a new session lasting `ttl_ms` for its reviewer, or None for a token
    /// that is not a current reviewer's. Expired sessions are cleared on the way.
    pub async fn open_review_session(
        &self,
        token: &str,
        ttl_ms: i64,
    ) -> Result<Option<ReviewSession>> {
        let now = self.clock_ms().await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM review_sessions WHERE expires_ms <= $1")
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let found: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, name FROM reviewers WHERE token_sha256 = $1 AND revoked_at IS NULL",
        )
        .bind(sha256_hex(token.trim()))
        .fetch_optional(&mut *tx)
        .await?;
        let Some((id, reviewer)) = found else {
            return Ok(None);
        };
        let (cookie, csrf) = (secret(""), secret(""));
        sqlx::query(
            "INSERT INTO review_sessions (id_sha256, reviewer_id, csrf, expires_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(sha256_hex(&cookie))
        .bind(id)
        .bind(&csrf)
        .bind(now + ttl_ms)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(ReviewSession {
            cookie,
            csrf,
            reviewer,
        }))
    }

    /// The session whose cookie is `cookie`, if it is unexpired and its reviewer current.
    pub async fn review_session(&self, cookie: &str) -> Result<Option<ReviewSession>> {
        let now = self.clock_ms().await?;
        let found: Option<(String, String)> = sqlx::query_as(
            "SELECT s.csrf, v.name FROM review_sessions s \
             JOIN reviewers v ON v.id = s.reviewer_id \
             WHERE s.id_sha256 = $1 AND s.expires_ms > $2 AND v.revoked_at IS NULL",
        )
        .bind(sha256_hex(cookie))
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        Ok(found.map(|(csrf, reviewer)| ReviewSession {
            cookie: cookie.to_owned(),
            csrf,
            reviewer,
        }))
    }

    /// Log out: the session's cookie stops working.
    pub async fn close_review_session(&self, cookie: &str) -> Result<()> {
        sqlx::query("DELETE FROM review_sessions WHERE id_sha256 = $1")
            .bind(sha256_hex(cookie))
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
