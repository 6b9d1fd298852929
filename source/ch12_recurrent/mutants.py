"""Plausible wrong answers for the chapter 12 exercises: each must lose its points."""

# %% [mutant ex1_mean_embedding] averages over every position, padding included
def mean_embedding(tokens, emb):
    return emb(tokens).mean(dim=1)

# %% [mutant ex1_mean_embedding] masks the padding but divides by the full length
def mean_embedding(tokens, emb):
    keep = (tokens != emb.padding_idx).unsqueeze(-1)
    return (emb(tokens) * keep).sum(dim=1) / tokens.shape[1]

# %% [mutant ex1_mean_embedding] divides by the count without guarding against zero
def mean_embedding(tokens, emb):
    keep = (tokens != emb.padding_idx).unsqueeze(-1)
    return (emb(tokens) * keep).sum(dim=1) / keep.sum(dim=1)

# %% [mutant ex1_mean_embedding] sums every position, counting on the padding row being zero
def mean_embedding(tokens, emb):
    count = (tokens != emb.padding_idx).sum(dim=1, keepdim=True).clamp(min=1)
    return emb(tokens).sum(dim=1) / count

# %% [mutant ex1_mean_embedding] takes the padding id to be 0
def mean_embedding(tokens, emb):
    keep = (tokens != 0).unsqueeze(-1)
    return (emb(tokens) * keep).sum(dim=1) / keep.sum(dim=1).clamp(min=1)

# %% [mutant ex2_lstm_step] reads the gates in the order i, f, o, g
def lstm_step(x, h, c, cell):
    gates = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
    i, f, o, g = gates.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_next = torch.sigmoid(o) * torch.tanh(c_next)
    return h_next, c_next

# %% [mutant ex2_lstm_step] forgets the tanh on the new cell state
def lstm_step(x, h, c, cell):
    gates = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh
    i, f, g, o = gates.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_next = torch.sigmoid(o) * c_next
    return h_next, c_next

# %% [mutant ex2_lstm_step] leaves out the hidden-to-hidden bias
def lstm_step(x, h, c, cell):
    gates = x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T
    i, f, g, o = gates.chunk(4, dim=1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_next = torch.sigmoid(o) * torch.tanh(c_next)
    return h_next, c_next

# %% [mutant ex2_lstm_step] calls the cell instead of computing the step
def lstm_step(x, h, c, cell):
    return cell(x, (h, c))

# %% [mutant ex2_lstm_step] calls LSTMCell.forward, around anything a subclass would do
def lstm_step(x, h, c, cell):
    return nn.LSTMCell.forward(cell, x, (h, c))

# %% [mutant ex3_gru_step] swaps the roles of z and 1 - z
def gru_step(x, h, cell):
    x_r, x_z, x_n = (x @ cell.weight_ih.T + cell.bias_ih).chunk(3, dim=1)
    h_r, h_z, h_n = (h @ cell.weight_hh.T + cell.bias_hh).chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return z * n + (1 - z) * h

# %% [mutant ex3_gru_step] applies the reset gate before adding the hidden bias
def gru_step(x, h, cell):
    x_r, x_z, x_n = (x @ cell.weight_ih.T + cell.bias_ih).chunk(3, dim=1)
    W_hr, W_hz, W_hn = cell.weight_hh.chunk(3, dim=0)
    b_hr, b_hz, b_hn = cell.bias_hh.chunk(3)
    r = torch.sigmoid(x_r + h @ W_hr.T + b_hr)
    z = torch.sigmoid(x_z + h @ W_hz.T + b_hz)
    n = torch.tanh(x_n + r * (h @ W_hn.T) + b_hn)
    return (1 - z) * n + z * h

# %% [mutant ex3_gru_step] reads the gates in the order z, r, n
def gru_step(x, h, cell):
    x_z, x_r, x_n = (x @ cell.weight_ih.T + cell.bias_ih).chunk(3, dim=1)
    h_z, h_r, h_n = (h @ cell.weight_hh.T + cell.bias_hh).chunk(3, dim=1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h

# %% [mutant ex3_gru_step] calls the cell instead of computing the step
def gru_step(x, h, cell):
    return cell(x, h)

# %% [mutant ex4_final_hidden] takes the last step of both directions
def final_hidden(output, batch_first=False, bidirectional=False):
    if batch_first:
        output = output.transpose(0, 1)
    return output[-1]

# %% [mutant ex4_final_hidden] ignores batch_first
def final_hidden(output, batch_first=False, bidirectional=False):
    if not bidirectional:
        return output[-1]
    hidden_size = output.shape[-1] // 2
    return torch.cat([output[-1, :, :hidden_size], output[0, :, hidden_size:]], dim=1)

# %% [mutant ex4_final_hidden] swaps batch and time with reshape
def final_hidden(output, batch_first=False, bidirectional=False):
    if batch_first:
        output = output.reshape(output.shape[1], output.shape[0], output.shape[2])
    if not bidirectional:
        return output[-1]
    hidden_size = output.shape[-1] // 2
    return torch.cat([output[-1, :, :hidden_size], output[0, :, hidden_size:]], dim=1)

# %% [mutant ex4_final_hidden] puts the backward direction first
def final_hidden(output, batch_first=False, bidirectional=False):
    if batch_first:
        output = output.transpose(0, 1)
    if not bidirectional:
        return output[-1]
    hidden_size = output.shape[-1] // 2
    return torch.cat([output[0, :, hidden_size:], output[-1, :, :hidden_size]], dim=1)

# %% [mutant ex5_sequence] a view straight to the new shape
def feature_map_to_sequence(fmap):
    N, C, H, W = fmap.shape
    return fmap.view(W, N, C * H)

# %% [mutant ex5_sequence] flattens height before channels
def feature_map_to_sequence(fmap):
    N, C, H, W = fmap.shape
    return fmap.permute(3, 0, 2, 1).reshape(W, N, C * H)

# %% [mutant ex5_sequence] swaps batch and width with transpose, then reshapes
def feature_map_to_sequence(fmap):
    N, C, H, W = fmap.shape
    return fmap.transpose(0, 3).reshape(W, N, C * H)

# %% [mutant ex5_sequence] steps along the rows instead of the columns
def feature_map_to_sequence(fmap):
    N, C, H, W = fmap.shape
    return fmap.permute(2, 0, 1, 3).reshape(H, N, C * W)

# %% [mutant ex6_classifier] builds the LSTM time first
class SequenceClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_classes, padding_idx=0,
                 bidirectional=False):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, bidirectional=bidirectional)
        self.fc = nn.Linear((2 if bidirectional else 1) * hidden_size, num_classes)

    def forward(self, tokens):
        output, (hn, cn) = self.lstm(self.embedding(tokens))
        last = torch.cat([hn[-2], hn[-1]], dim=1) if self.lstm.bidirectional else hn[-1]
        return self.fc(last)

# %% [mutant ex6_classifier] joins the two directions with view
class SequenceClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_classes, padding_idx=0,
                 bidirectional=False):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True,
                            bidirectional=bidirectional)
        self.fc = nn.Linear((2 if bidirectional else 1) * hidden_size, num_classes)

    def forward(self, tokens):
        output, (hn, cn) = self.lstm(self.embedding(tokens))
        return self.fc(hn.view(tokens.shape[0], -1))

# %% [mutant ex6_classifier] classifies the first time step of output
class SequenceClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_classes, padding_idx=0,
                 bidirectional=False):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True,
                            bidirectional=bidirectional)
        self.fc = nn.Linear((2 if bidirectional else 1) * hidden_size, num_classes)

    def forward(self, tokens):
        output, (hn, cn) = self.lstm(self.embedding(tokens))
        return self.fc(output[:, 0])

# %% [mutant ex6_classifier] forgets padding_idx
class SequenceClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_classes, padding_idx=0,
                 bidirectional=False):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True,
                            bidirectional=bidirectional)
        self.fc = nn.Linear((2 if bidirectional else 1) * hidden_size, num_classes)

    def forward(self, tokens):
        output, (hn, cn) = self.lstm(self.embedding(tokens))
        last = torch.cat([hn[-2], hn[-1]], dim=1) if self.lstm.bidirectional else hn[-1]
        return self.fc(last)

# %% [mutant ex6_classifier] packs, then classifies the last step of the padded output
class SequenceClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_classes, padding_idx=0,
                 bidirectional=False):
        super().__init__()
        self.padding_idx = padding_idx
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True,
                            bidirectional=bidirectional)
        self.fc = nn.Linear((2 if bidirectional else 1) * hidden_size, num_classes)

    def forward(self, tokens):
        lengths = (tokens != self.padding_idx).sum(dim=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(tokens), lengths,
                                                   batch_first=True, enforce_sorted=False)
        output, _ = self.lstm(packed)
        output, _ = nn.utils.rnn.pad_packed_sequence(output, batch_first=True,
                                                     total_length=tokens.shape[1])
        H = self.lstm.hidden_size
        if not self.lstm.bidirectional:
            return self.fc(output[:, -1])
        return self.fc(torch.cat([output[:, -1, :H], output[:, 0, H:]], dim=1))

# %% [mutant ex6_classifier] packs with enforce_sorted left on: unsorted lengths fail
class SequenceClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_classes, padding_idx=0,
                 bidirectional=False):
        super().__init__()
        self.padding_idx = padding_idx
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True,
                            bidirectional=bidirectional)
        self.fc = nn.Linear((2 if bidirectional else 1) * hidden_size, num_classes)

    def forward(self, tokens):
        lengths = (tokens != self.padding_idx).sum(dim=1).cpu()
        packed = nn.utils.rnn.pack_padded_sequence(self.embedding(tokens), lengths,
                                                   batch_first=True)
        _, (hn, _) = self.lstm(packed)
        last = torch.cat([hn[-2], hn[-1]], dim=1) if self.lstm.bidirectional else hn[-1]
        return self.fc(last)

# %% [mutant ex6_classifier] classifies the cell state cn
class SequenceClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_classes, padding_idx=0,
                 bidirectional=False):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True,
                            bidirectional=bidirectional)
        self.fc = nn.Linear((2 if bidirectional else 1) * hidden_size, num_classes)

    def forward(self, tokens):
        output, (hn, cn) = self.lstm(self.embedding(tokens))
        last = torch.cat([cn[-2], cn[-1]], dim=1) if self.lstm.bidirectional else cn[-1]
        return self.fc(last)

# %% [mutant ex6_classifier] stacks two LSTM layers
class SequenceClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_classes, padding_idx=0,
                 bidirectional=False):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, num_layers=2, batch_first=True,
                            bidirectional=bidirectional)
        self.fc = nn.Linear((2 if bidirectional else 1) * hidden_size, num_classes)

    def forward(self, tokens):
        output, (hn, cn) = self.lstm(self.embedding(tokens))
        last = torch.cat([hn[-2], hn[-1]], dim=1) if self.lstm.bidirectional else hn[-1]
        return self.fc(last)

# %% [mutant ex7_predict_shapes] counts one direction's features in output
output_shape = (8, 12, 16)
hn_shape = (6, 8, 16)
backward_last_step = 0

# %% [mutant ex7_predict_shapes] puts output time first, as without batch_first
output_shape = (12, 8, 32)
hn_shape = (6, 8, 16)
backward_last_step = 0

# %% [mutant ex7_predict_shapes] takes batch_first to apply to hn too
output_shape = (8, 12, 32)
hn_shape = (8, 6, 16)
backward_last_step = 0

# %% [mutant ex7_predict_shapes] one state per layer in hn, forgetting the directions
output_shape = (8, 12, 32)
hn_shape = (3, 8, 16)
backward_last_step = 0

# %% [mutant ex7_predict_shapes] doubles the hidden size of hn instead of its first dimension
output_shape = (8, 12, 32)
hn_shape = (3, 8, 32)
backward_last_step = 0

# %% [mutant ex7_predict_shapes] looks for the backward final state at the last step
output_shape = (8, 12, 32)
hn_shape = (6, 8, 16)
backward_last_step = 11

# %% [mutant ex8_fix_tagger] fixes the loss only: the LSTM still reads the batch as time
class Tagger(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_tags):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size)
        self.fc = nn.Linear(hidden_size, num_tags)

    def forward(self, tokens):
        output, _ = self.lstm(self.embedding(tokens))
        return self.fc(output)


def tagging_loss(net, tokens, tags):
    return nn.CrossEntropyLoss()(net(tokens).permute(0, 2, 1), tags)

# %% [mutant ex8_fix_tagger] fixes the LSTM only: the logits still go in as (N, L, V)
class Tagger(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_tags):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_tags)

    def forward(self, tokens):
        output, _ = self.lstm(self.embedding(tokens))
        return self.fc(output)


def tagging_loss(net, tokens, tags):
    return nn.CrossEntropyLoss()(net(tokens), tags)

# %% [mutant ex8_fix_tagger] moves the classes with view: the right shape, scrambled logits
class Tagger(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_tags):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_tags)

    def forward(self, tokens):
        output, _ = self.lstm(self.embedding(tokens))
        return self.fc(output)


def tagging_loss(net, tokens, tags):
    logits = net(tokens)
    N, L, V = logits.shape
    return nn.CrossEntropyLoss()(logits.view(N, V, L), tags)

# %% [mutant ex8_fix_tagger] swaps batch and time with view before a time-first LSTM
class Tagger(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_tags):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size)
        self.fc = nn.Linear(hidden_size, num_tags)

    def forward(self, tokens):
        X = self.embedding(tokens)
        N, L, E = X.shape
        output, _ = self.lstm(X.view(L, N, E))
        return self.fc(output).view(N, L, -1)


def tagging_loss(net, tokens, tags):
    return nn.CrossEntropyLoss()(net(tokens).permute(0, 2, 1), tags)

# %% [mutant ex8_fix_tagger] sums the loss over the steps instead of taking the mean
class Tagger(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_tags):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_tags)

    def forward(self, tokens):
        output, _ = self.lstm(self.embedding(tokens))
        return self.fc(output)


def tagging_loss(net, tokens, tags):
    return F.cross_entropy(net(tokens).permute(0, 2, 1), tags, reduction="sum")

# %% [mutant ex8_fix_tagger] scores the last step only, as a sequence classifier would
class Tagger(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_tags):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_tags)

    def forward(self, tokens):
        output, _ = self.lstm(self.embedding(tokens))
        return self.fc(output)


def tagging_loss(net, tokens, tags):
    return F.cross_entropy(net(tokens)[:, -1], tags[:, -1])
