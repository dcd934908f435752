//! Every attribute key Tollgate puts on a span, in one place: the GenAI
//! conventions are still "Development" and being renamed (semconv v1.41.1,
//! now open-telemetry/semantic-conventions-genai).

pub const GEN_AI_OPERATION_NAME: &str = "gen_ai.operation.name";
pub const GEN_AI_PROVIDER_NAME: &str = "gen_ai.provider.name";
pub const GEN_AI_REQUEST_MODEL: &str = "gen_ai.request.model";
pub const GEN_AI_RESPONSE_MODEL: &str = "gen_ai.response.model";
pub const GEN_AI_RESPONSE_ID: &str = "gen_ai.response.id";
pub const GEN_AI_RESPONSE_FINISH_REASONS: &str = "gen_ai.response.finish_reasons";
pub const GEN_AI_USAGE_INPUT_TOKENS: &str = "gen_ai.usage.input_tokens";
pub const GEN_AI_USAGE_OUTPUT_TOKENS: &str = "gen_ai.usage.output_tokens";
pub const GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: &str = "gen_ai.usage.cache_read.input_tokens";
pub const GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: &str = "gen_ai.response.time_to_first_chunk";
pub const GEN_AI_INPUT_MESSAGES: &str = "gen_ai.input.messages";
pub const GEN_AI_OUTPUT_MESSAGES: &str = "gen_ai.output.messages";

/// `gen_ai.provider.name` for a LiteLLM provider prefix (the conventions'
/// well-known values; the prefix itself when none fits).
pub fn provider_name(litellm_provider: &str) -> &str {
    match litellm_provider {
        "openai" | "text-completion-openai" | "openai_compatible" | "hosted_vllm" | "vllm" => {
            "openai"
        }
        "azure" | "azure_text" => "azure.ai.openai",
        "anthropic" => "anthropic",
        "bedrock" => "aws.bedrock",
        "gemini" => "gcp.gemini",
        "vertex_ai" => "gcp.vertex_ai",
        "groq" => "groq",
        "mistral" => "mistral_ai",
        "cohere" | "cohere_chat" => "cohere",
        "deepseek" => "deepseek",
        "perplexity" => "perplexity",
        "xai" => "x_ai",
        "watsonx" => "ibm.watsonx.ai",
        other => other,
    }
}
