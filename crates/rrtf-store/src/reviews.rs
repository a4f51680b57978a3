//! Operator reviews: an append-only audit trail (the table's triggers refuse UPDATE and DELETE).

use crate::{Result, ReviewAction, Store, StoreError};

#[derive(Clone, Debug, PartialEq)]
pub struct NewReview {
    pub prompt_id: i64,
    pub response_id: Option<i64>,
    pub action: ReviewAction,
    pub payload: Option<serde_json::Value>,
    pub author: String,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Review {
    pub id: i64,
    pub prompt_id: i64,
    pub response_id: Option<i64>,
    pub action: ReviewAction,
    pub payload: Option<serde_json::Value>,
    pub author: String,
    pub reason: Option<String>,
    pub created_at: String,
}

/// A `reviews` row as stored (the payload still JSON text).
#[derive(sqlx::FromRow)]
struct ReviewRow {
    id: i64,
    prompt_id: i64,
    response_id: Option<i64>,
    action: ReviewAction,
    payload_json: Option<String>,
    author: String,
    reason: Option<String>,
    created_at: String,
}

/// Whether a reason says something: a letter or digit in any script outside terminal escape
/// sequences, not only spaces, control characters or invisible ones (a zero-width space,
/// `ESC[2J`).
fn says_something(reason: &str) -> bool {
    let mut chars = reason.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // ESC [ parameters final-byte (CSI), ESC ] ... BEL or ESC \\ (OSC), else ESC X.
            match chars.next() {
                Some('[') => {
                    for c in chars.by_ref() {
                        if ('@'..='~').contains(&c) {
                            break;
                        }
                    }
                }
                Some(']') => {
                    for c in chars.by_ref() {
                        if c == '\u{7}' || c == '\u{1b}' {
                            break;
                        }
                    }
                }
                _ => {}
            }
        } else if c.is_alphanumeric() {
            return true;
        }
    }
    false
}

impl Store {
    /// The newest review of a prompt (its id; 0 when it has none): what the web review's
    /// prompt page polls to tell its reviewer that someone else acted meanwhile.
    pub async fn latest_review_id(&self, prompt_id: i64) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT CAST(coalesce(max(id), 0) AS BIGINT) FROM reviews WHERE prompt_id = $1",
        )
        .bind(prompt_id)
        .fetch_one(&self.pool)
        .await?)
    }

    /// Append a review. The prompt must exist and the response, if any, must answer it; an
    /// action the review policy ([`Store::review_policy`]) requires a reason for must have one.
    pub async fn add_review(&self, review: &NewReview) -> Result<i64> {
        let blank = !review.reason.as_deref().is_some_and(says_something);
        if blank
            && self
                .review_policy()
                .await?
                .policy
                .requires_reason(review.action)
        {
            return Err(StoreError::ReasonRequired {
                action: review.action,
            });
        }
        let prompt: Option<i64> = sqlx::query_scalar("SELECT id FROM prompts WHERE id = $1")
            .bind(review.prompt_id)
            .fetch_optional(&self.pool)
            .await?;
        if prompt.is_none() {
            return Err(StoreError::UnknownId {
                what: "prompt",
                id: review.prompt_id,
            });
        }
        if let Some(rid) = review.response_id {
            let ok: Option<i64> =
                sqlx::query_scalar("SELECT id FROM responses WHERE id = $1 AND prompt_id = $2")
                    .bind(rid)
                    .bind(review.prompt_id)
                    .fetch_optional(&self.pool)
                    .await?;
            if ok.is_none() {
                return Err(StoreError::UnknownId {
                    what: "response (for this prompt)",
                    id: rid,
                });
            }
        }
        let id = sqlx::query_scalar(
            "INSERT INTO reviews (prompt_id, response_id, action, payload_json, author, reason) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
        )
        .bind(review.prompt_id)
        .bind(review.response_id)
        .bind(review.action.as_str())
        .bind(review.payload.as_ref().map(|p| p.to_string()))
        .bind(&review.author)
        .bind(
            review
                .reason
                .as_deref()
                .map(|r| crate::sql::storable(r).into_owned()),
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    /// All reviews in the order they were made.
    pub async fn reviews(&self) -> Result<Vec<Review>> {
        let rows: Vec<ReviewRow> = sqlx::query_as(
            "SELECT id, prompt_id, response_id, action, payload_json, author, reason, created_at \
             FROM reviews ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::reading("reviews"))?;
        rows.into_iter()
            .map(|r| {
                let payload = match r.payload_json {
                    Some(p) => Some(serde_json::from_str(&p).map_err(|_| StoreError::Corrupt {
                        column: "reviews.payload_json",
                        value: p.clone(),
                    })?),
                    None => None,
                };
                Ok(Review {
                    id: r.id,
                    prompt_id: r.prompt_id,
                    response_id: r.response_id,
                    action: r.action,
                    payload,
                    author: r.author,
                    reason: r.reason,
                    created_at: r.created_at,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::Store;

    #[tokio::test]
    async fn the_table_refuses_update_and_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create(&dir.path().join("r.db")).await.unwrap();
        sqlx::query(
            "INSERT INTO prompts (source, source_id, kind, text, content_hash) \
             VALUES ('s', '1', 'instruction', 'x', 'h')",
        )
        .execute(&store.pool)
        .await
        .unwrap();
        sqlx::query("INSERT INTO reviews (prompt_id, action, author) VALUES (1, 'note', 'ana')")
            .execute(&store.pool)
            .await
            .unwrap();
        for sql in ["UPDATE reviews SET author = 'eve'", "DELETE FROM reviews"] {
            let err = sqlx::query(sql).execute(&store.pool).await.unwrap_err();
            assert!(err.to_string().contains("append-only"), "{sql}: {err}");
        }
    }
}

#[cfg(test)]
mod reason_tests {
    use super::says_something;

    #[test]
    fn a_reason_says_something_in_words() {
        for empty in [
            "",
            "  \n",
            "\u{200b}",
            "\u{0}",
            "\u{1b}[2J",
            "\u{1b}]0;title\u{7}",
            "\u{1b}c",
            "?!",
        ] {
            assert!(!says_something(empty), "{empty:?}");
        }
        for said in ["ok", "dup of #3", "重复", "\u{1b}[1mbold\u{1b}[0m", "3"] {
            assert!(says_something(said), "{said:?}");
        }
    }
}
