//! Which provider a deployment talks to, from the `model` prefix LiteLLM uses
//! (`openai/gpt-4o`, `anthropic/claude-…`, …).

use serde::{Deserialize, Serialize};

/// Providers known by prefix. A model without a known prefix is treated as
/// OpenAI, as LiteLLM does for bare OpenAI model names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Openai,
    /// An OpenAI-compatible server addressed by `api_base`.
    OpenaiCompatible,
    Azure,
    Anthropic,
    Gemini,
    Groq,
    Mistral,
    Ollama,
    OllamaChat,
    Bedrock,
    Deepseek,
    TogetherAi,
    Openrouter,
    HostedVllm,
    /// Cohere (rerank; `https://api.cohere.com`).
    Cohere,
    /// Jina AI (rerank; `https://api.jina.ai`).
    JinaAi,
}

impl ProviderKind {
    /// Splits `provider/model` into the provider and the upstream model name.
    pub fn parse(model: &str) -> (ProviderKind, &str) {
        let Some((prefix, rest)) = model.split_once('/') else {
            return (ProviderKind::Openai, model);
        };
        let kind = match prefix {
            "openai" | "text-completion-openai" => ProviderKind::Openai,
            "openai_compatible" | "custom_openai" => ProviderKind::OpenaiCompatible,
            "azure" => ProviderKind::Azure,
            "anthropic" => ProviderKind::Anthropic,
            "gemini" => ProviderKind::Gemini,
            "groq" => ProviderKind::Groq,
            "mistral" => ProviderKind::Mistral,
            "ollama" => ProviderKind::Ollama,
            "ollama_chat" => ProviderKind::OllamaChat,
            "bedrock" => ProviderKind::Bedrock,
            "deepseek" => ProviderKind::Deepseek,
            "together_ai" => ProviderKind::TogetherAi,
            "openrouter" => ProviderKind::Openrouter,
            "hosted_vllm" => ProviderKind::HostedVllm,
            "cohere" => ProviderKind::Cohere,
            "jina_ai" => ProviderKind::JinaAi,
            // Unknown prefix: the whole string is the model name of an
            // OpenAI-style server (e.g. `meta-llama/Llama-3` on vLLM).
            _ => return (ProviderKind::Openai, model),
        };
        (kind, rest)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Openai => "openai",
            ProviderKind::OpenaiCompatible => "openai_compatible",
            ProviderKind::Azure => "azure",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gemini",
            ProviderKind::Groq => "groq",
            ProviderKind::Mistral => "mistral",
            ProviderKind::Ollama => "ollama",
            ProviderKind::OllamaChat => "ollama_chat",
            ProviderKind::Bedrock => "bedrock",
            ProviderKind::Deepseek => "deepseek",
            ProviderKind::TogetherAi => "together_ai",
            ProviderKind::Openrouter => "openrouter",
            ProviderKind::HostedVllm => "hosted_vllm",
            ProviderKind::Cohere => "cohere",
            ProviderKind::JinaAi => "jina_ai",
        }
    }

    /// Base URL used when the deployment sets no `api_base`, for providers
    /// that speak OpenAI's wire format.
    pub fn default_openai_base(self) -> Option<&'static str> {
        match self {
            ProviderKind::Openai => Some("https://api.openai.com/v1"),
            ProviderKind::Groq => Some("https://api.groq.com/openai/v1"),
            ProviderKind::Mistral => Some("https://api.mistral.ai/v1"),
            ProviderKind::Deepseek => Some("https://api.deepseek.com/v1"),
            ProviderKind::TogetherAi => Some("https://api.together.xyz/v1"),
            ProviderKind::Openrouter => Some("https://openrouter.ai/api/v1"),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_split_like_litellm() {
        assert_eq!(
            ProviderKind::parse("openai/gpt-4o"),
            (ProviderKind::Openai, "gpt-4o")
        );
        assert_eq!(
            ProviderKind::parse("gpt-4o"),
            (ProviderKind::Openai, "gpt-4o")
        );
        assert_eq!(
            ProviderKind::parse("anthropic/claude-3-5-sonnet"),
            (ProviderKind::Anthropic, "claude-3-5-sonnet")
        );
        assert_eq!(
            ProviderKind::parse("meta-llama/Llama-3"),
            (ProviderKind::Openai, "meta-llama/Llama-3")
        );
        assert_eq!(
            ProviderKind::parse("hosted_vllm/meta-llama/Llama-3"),
            (ProviderKind::HostedVllm, "meta-llama/Llama-3")
        );
    }
}
