/// The bundled upstream cost table: the embedded fallback for dynamic pricing until (or whenever)
/// the provider's model list cannot be fetched. List prices in USD, written in the same OpenRouter
/// format the refresh reads, so one parser serves both. A snapshot: operators who depend on a model
/// should pin it with an override or refresh from their provider. Cache-read and cache-write
/// prices (`input_cache_read`, `input_cache_write`) are the providers' published ones.
public enum DefaultPriceTable {
    public static let models: [CatalogModel] = (try? OpenRouterModels.parse(Array(json.utf8)).models) ?? []

    /// When these prices were copied, shown by explain.
    public static let asOf = "2025-06"

    static let json = """
    {"data":[
    {"id":"openai/gpt-4o","context_length":128000,"pricing":{"prompt":"0.0000025","completion":"0.00001","input_cache_read":"0.00000125"},"top_provider":{"max_completion_tokens":16384}},
    {"id":"openai/gpt-4o-mini","context_length":128000,"pricing":{"prompt":"0.00000015","completion":"0.0000006","input_cache_read":"0.000000075"},"top_provider":{"max_completion_tokens":16384}},
    {"id":"openai/gpt-4.1","context_length":1047576,"pricing":{"prompt":"0.000002","completion":"0.000008","input_cache_read":"0.0000005"},"top_provider":{"max_completion_tokens":32768}},
    {"id":"openai/gpt-4.1-mini","context_length":1047576,"pricing":{"prompt":"0.0000004","completion":"0.0000016","input_cache_read":"0.0000001"},"top_provider":{"max_completion_tokens":32768}},
    {"id":"openai/gpt-4-turbo","context_length":128000,"pricing":{"prompt":"0.00001","completion":"0.00003"},"top_provider":{"max_completion_tokens":4096}},
    {"id":"openai/gpt-4","context_length":8191,"pricing":{"prompt":"0.00003","completion":"0.00006"},"top_provider":{"max_completion_tokens":4096}},
    {"id":"openai/gpt-3.5-turbo","context_length":16385,"pricing":{"prompt":"0.0000005","completion":"0.0000015"},"top_provider":{"max_completion_tokens":4096}},
    {"id":"openai/o1","context_length":200000,"pricing":{"prompt":"0.000015","completion":"0.00006","input_cache_read":"0.0000075"},"top_provider":{"max_completion_tokens":100000}},
    {"id":"openai/o3-mini","context_length":200000,"pricing":{"prompt":"0.0000011","completion":"0.0000044","input_cache_read":"0.00000055"},"top_provider":{"max_completion_tokens":100000}},
    {"id":"openai/text-embedding-3-small","context_length":8191,"pricing":{"prompt":"0.00000002","completion":"0"}},
    {"id":"openai/text-embedding-3-large","context_length":8191,"pricing":{"prompt":"0.00000013","completion":"0"}},
    {"id":"openai/text-embedding-ada-002","context_length":8191,"pricing":{"prompt":"0.0000001","completion":"0"}},
    {"id":"openai/dall-e-3","pricing":{"prompt":"0","completion":"0","image":"0.04"}},
    {"id":"openai/whisper-1","pricing":{"prompt":"0","completion":"0","audio_second":"0.0001"}},
    {"id":"openai/tts-1","pricing":{"prompt":"0.000015","completion":"0"}},
    {"id":"anthropic/claude-3.5-sonnet","context_length":200000,"pricing":{"prompt":"0.000003","completion":"0.000015","input_cache_read":"0.0000003","input_cache_write":"0.00000375"},"top_provider":{"max_completion_tokens":8192}},
    {"id":"anthropic/claude-3.5-haiku","context_length":200000,"pricing":{"prompt":"0.0000008","completion":"0.000004","input_cache_read":"0.00000008","input_cache_write":"0.000001"},"top_provider":{"max_completion_tokens":8192}},
    {"id":"anthropic/claude-3-opus","context_length":200000,"pricing":{"prompt":"0.000015","completion":"0.000075","input_cache_read":"0.0000015","input_cache_write":"0.00001875"},"top_provider":{"max_completion_tokens":4096}},
    {"id":"mistralai/mistral-large","context_length":128000,"pricing":{"prompt":"0.000002","completion":"0.000006"}},
    {"id":"deepseek/deepseek-chat","context_length":64000,"pricing":{"prompt":"0.00000027","completion":"0.0000011","input_cache_read":"0.00000007"},"top_provider":{"max_completion_tokens":8192}}
    ]}
    """
}
