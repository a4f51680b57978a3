//! The server started in-process (as `rrtf round` starts the student) on a free port, sampled
//! with `rrtf-llm`'s client, then shut down.

use rrtf_llm::{Backend, GenRequest, HttpBackend, Params, Prompt, RetryPolicy};
use rrtf_serve::{ChatTemplate, ServeOptions};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_serves_on_a_free_port_until_shutdown() {
    let mut opts = ServeOptions::new(rrtf_model::fixtures_dir().join("mha"));
    opts.model_name = Some("student".into());
    opts.chat_template = ChatTemplate::Docstring;
    let server = rrtf_serve::start(opts, "127.0.0.1:0".parse().unwrap())
        .await
        .unwrap();
    assert_ne!(server.addr().port(), 0);
    assert_eq!(server.model_name(), "student");
    let endpoint: rrtf_config::Endpoint = serde_json::from_value(serde_json::json!({
        "name": "student", "base_url": server.base_url(), "model": "student",
        "kind": "completion",
    }))
    .unwrap();
    let backend = HttpBackend::new(&endpoint, RetryPolicy::default()).unwrap();
    let request = GenRequest {
        prompt: Prompt::Text("def add(a, b):".into()),
        params: Params {
            temperature: 0.7,
            top_p: Some(0.95),
            max_tokens: Some(12),
            stop: vec![],
            seed: Some(9),
        },
    };
    let a = backend.generate(&request).await.unwrap();
    let b = backend.generate(&request).await.unwrap();
    assert_eq!(a.text, b.text, "same seed, same sample");
    assert!(a.completion_tokens.unwrap() >= 1);

    let addr = server.addr();
    server.shutdown().await.unwrap();
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "still listening after shutdown"
    );
}
