use super::*;

fn converse(body: Value) -> Converse {
    request::parse(&body).expect("valid converse body")
}

#[test]
fn converse_bodies_are_validated_like_bedrock() {
    for bad in [
        json!({"messages": []}),
        json!({"messages": [{"role": "assistant", "content": [{"text": "hi"}]}]}),
        json!({"messages": [{"role": "user", "content": [{"text": "a"}]}, {"role": "user", "content": [{"text": "b"}]}]}),
        json!({"messages": [{"role": "user", "content": [{"image": {"format": "bmp", "source": {"bytes": "AA=="}}}]}]}),
        json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}], "temperature": 1}),
        json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}], "inferenceConfig": {"max_tokens": 1}}),
    ] {
        assert!(request::parse(&bad).is_err(), "{bad}");
    }
}

#[test]
fn answers_echo_and_count_like_the_openai_mock() {
    let c = converse(json!({
        "system": [{"text": "Be terse."}],
        "messages": [{"role": "user", "content": [{"text": "hello there"}]}]
    }));
    let a = answer(&c, &HeaderMap::new(), false);
    assert_eq!(a.text, "Echo: hello there");
    assert_eq!((a.input_tokens, a.output_tokens), (6, 3));
    let body = converse_body(&a);
    assert_eq!(body["stopReason"], json!("end_turn"));
    assert_eq!(
        body["output"]["message"]["content"],
        json!([{"text": "Echo: hello there"}])
    );
}

#[test]
fn weather_with_tools_calls_the_first_tool() {
    let c = converse(json!({
        "messages": [{"role": "user", "content": [{"text": "weather in Paris?"}]}],
        "toolConfig": {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]}
    }));
    let a = answer(&c, &HeaderMap::new(), false);
    assert_eq!(
        a.tool,
        Some(("get_weather".to_string(), json!({"location": "Paris"})))
    );
    assert_eq!(a.stop_reason, "tool_use");
}

#[test]
fn stream_events_end_with_stop_and_metadata() {
    let c = converse(json!({"messages": [{"role": "user", "content": [{"text": "hi"}]}]}));
    let events = stream_events(&answer(&c, &HeaderMap::new(), false), None);
    // messageStart, 2 words, contentBlockStop, messageStop, metadata
    assert_eq!(events.len(), 6);
    let with_exception = stream_events(
        &answer(&c, &HeaderMap::new(), false),
        Some("throttlingException"),
    );
    assert_eq!(with_exception.len(), 2);
}

#[test]
fn embeddings_for_titan_and_cohere() {
    let titan = invoke(
        "amazon.titan-embed-text-v2:0",
        &json!({"inputText": "hello world"}),
    );
    assert!(titan.is_ok());
    assert!(invoke("amazon.titan-embed-text-v2:0", &json!({"texts": ["x"]})).is_err());
    assert!(
        invoke("cohere.embed-english-v3", &json!({"texts": ["x"]})).is_err(),
        "input_type is required"
    );
    assert!(
        invoke(
            "cohere.embed-english-v3",
            &json!({"texts": ["x"], "input_type": "search_document"})
        )
        .is_ok()
    );
}

#[test]
fn anthropic_invoke_takes_bedrock_bodies_only() {
    let state = crate::app::AppState::new(false);
    let model = "anthropic.claude-3-haiku-20240307-v1:0";
    let messages = json!([{"role": "user", "content": "hello there"}]);
    let good =
        json!({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 16, "messages": messages});
    let invoked = anthropic::bedrock_invoke(&state, model, &good).expect("valid");
    assert_eq!(
        invoked.message["content"][0]["text"],
        json!("Echo: hello there")
    );
    assert_eq!(invoked.message["model"], json!(model));
    let kinds: Vec<&str> = invoked
        .events
        .iter()
        .filter_map(|e| e["type"].as_str())
        .collect();
    assert_eq!(kinds.first(), Some(&"message_start"));
    assert_eq!(kinds.last(), Some(&"message_stop"));
    for bad in [
        json!({"max_tokens": 16, "messages": messages}),
        json!({"anthropic_version": "bedrock-2023-05-31", "model": model, "max_tokens": 16, "messages": messages}),
        json!({"anthropic_version": "bedrock-2023-05-31", "stream": true, "max_tokens": 16, "messages": messages}),
        json!({"anthropic_version": "bedrock-2023-05-31", "messages": messages}),
    ] {
        assert!(
            anthropic::bedrock_invoke(&state, model, &bad).is_err(),
            "{bad}"
        );
    }
    assert!(is_anthropic("us.anthropic.claude-3-5-sonnet-20241022-v2:0"));
    assert!(!is_anthropic("amazon.titan-embed-text-v2:0"));
}
