"""Other correct answers for the chapter 12 exercises: each must earn full marks."""

# %% [alternative ex1_mean_embedding] a loop over the sequences, real ids picked by a mask
def mean_embedding(tokens, emb):
    rows = []
    for seq in tokens:                                     # seq: (L,)
        real = seq[seq != emb.padding_idx]
        if len(real) == 0:
            rows.append(torch.zeros(emb.embedding_dim))
        else:
            rows.append(emb(real).mean(dim=0))
    return torch.stack(rows)                               # (N, D)

# %% [alternative ex1_mean_embedding] F.embedding_bag in mean mode skips the padding id
def mean_embedding(tokens, emb):
    return F.embedding_bag(tokens, emb.weight, mode="mean", padding_idx=emb.padding_idx)

# %% [alternative ex1_mean_embedding] masked_fill, float counts, torch.where for empty rows
def mean_embedding(tokens, emb):
    pad = tokens == emb.padding_idx                        # (N, L)
    vectors = emb(tokens).masked_fill(pad.unsqueeze(2), 0.0)
    count = (~pad).float().sum(dim=1, keepdim=True)        # (N, 1)
    mean = vectors.sum(dim=1) / count.clamp(min=1.0)
    return torch.where(count > 0, mean, torch.zeros_like(mean))

# %% [alternative ex2_lstm_step] F.linear, the gates split by hidden_size
def lstm_step(x, h, c, cell):
    H = cell.hidden_size
    gates = F.linear(x, cell.weight_ih, cell.bias_ih) + F.linear(h, cell.weight_hh,
                                                                 cell.bias_hh)
    i, f, g, o = gates.split(H, dim=1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c_next = f * c + i * g
    return o * c_next.tanh(), c_next

# %% [alternative ex2_lstm_step] one weight block per gate
def lstm_step(x, h, c, cell):
    W_ii, W_if, W_ig, W_io = cell.weight_ih.chunk(4, dim=0)
    W_hi, W_hf, W_hg, W_ho = cell.weight_hh.chunk(4, dim=0)
    b_ii, b_if, b_ig, b_io = cell.bias_ih.chunk(4)
    b_hi, b_hf, b_hg, b_ho = cell.bias_hh.chunk(4)
    i = torch.sigmoid(x @ W_ii.T + b_ii + h @ W_hi.T + b_hi)
    f = torch.sigmoid(x @ W_if.T + b_if + h @ W_hf.T + b_hf)
    g = torch.tanh(x @ W_ig.T + b_ig + h @ W_hg.T + b_hg)
    o = torch.sigmoid(x @ W_io.T + b_io + h @ W_ho.T + b_ho)
    c_next = f * c + i * g
    h_next = o * torch.tanh(c_next)
    return h_next, c_next

# %% [alternative ex2_lstm_step] input and state joined, one matrix product
def lstm_step(x, h, c, cell):
    xh = torch.cat([x, h], dim=1)                          # (N, input + hidden)
    W = torch.cat([cell.weight_ih, cell.weight_hh], dim=1)
    gates = torch.addmm(cell.bias_ih + cell.bias_hh, xh, W.t())
    i, f, g, o = torch.chunk(gates, 4, 1)
    c_next = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c_next), c_next

# %% [alternative ex3_gru_step] F.linear, split by hidden_size, h' written as n + z (h - n)
def gru_step(x, h, cell):
    H = cell.hidden_size
    x_r, x_z, x_n = F.linear(x, cell.weight_ih, cell.bias_ih).split(H, dim=1)
    h_r, h_z, h_n = F.linear(h, cell.weight_hh, cell.bias_hh).split(H, dim=1)
    r = (x_r + h_r).sigmoid()
    z = (x_z + h_z).sigmoid()
    n = (x_n + r * h_n).tanh()
    return n + z * (h - n)

# %% [alternative ex3_gru_step] one weight block per gate
def gru_step(x, h, cell):
    W_ir, W_iz, W_in = cell.weight_ih.chunk(3)
    W_hr, W_hz, W_hn = cell.weight_hh.chunk(3)
    b_ir, b_iz, b_in = cell.bias_ih.chunk(3)
    b_hr, b_hz, b_hn = cell.bias_hh.chunk(3)
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)
    z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)
    n = torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))
    return (1 - z) * n + z * h

# %% [alternative ex3_gru_step] torch.matmul, torch.lerp between n and h
def gru_step(x, h, cell):
    gi = torch.matmul(x, cell.weight_ih.t()) + cell.bias_ih       # (N, 3H)
    gh = torch.matmul(h, cell.weight_hh.t()) + cell.bias_hh
    i_r, i_z, i_n = torch.chunk(gi, 3, dim=-1)
    h_r, h_z, h_n = torch.chunk(gh, 3, dim=-1)
    r = torch.sigmoid(i_r + h_r)
    z = torch.sigmoid(i_z + h_z)
    n = torch.tanh(i_n + r * h_n)
    return torch.lerp(n, h, z)                                    # n + z * (h - n)

# %% [alternative ex4_final_hidden] indexes the time dimension where it is, no transpose
def final_hidden(output, batch_first=False, bidirectional=False):
    time = 1 if batch_first else 0
    last = output.select(time, output.shape[time] - 1)           # (N, D * H)
    if not bidirectional:
        return last
    first = output.select(time, 0)
    H = output.size(-1) // 2
    return torch.cat([last[:, :H], first[:, H:]], dim=-1)

# %% [alternative ex4_final_hidden] movedim, then the two directions as a dimension of 2
def final_hidden(output, batch_first=False, bidirectional=False):
    if batch_first:
        output = output.movedim(1, 0)                            # (L, N, D * H)
    if not bidirectional:
        return output[-1].clone()
    L, N, features = output.shape
    both = output.reshape(L, N, 2, features // 2)                # (L, N, 2, H)
    return torch.cat((both[-1, :, 0], both[0, :, 1]), dim=1)

# %% [alternative ex4_final_hidden] batch first throughout, with permute
def final_hidden(output, batch_first=False, bidirectional=False):
    if not batch_first:
        output = output.permute(1, 0, 2)                         # (N, L, D * H)
    hidden = output.shape[2] // 2 if bidirectional else output.shape[2]
    forward = output[:, -1, :hidden]
    if not bidirectional:
        return forward
    return torch.hstack([forward, output[:, 0, hidden:]])

# %% [alternative ex5_sequence] merge C and H first, then bring the columns to the front
def feature_map_to_sequence(fmap):
    return fmap.flatten(1, 2).permute(2, 0, 1)             # (N, C*H, W) -> (W, N, C*H)

# %% [alternative ex5_sequence] one column at a time, stacked
def feature_map_to_sequence(fmap):
    N, C, H, W = fmap.shape
    steps = [fmap[:, :, :, t].reshape(N, C * H) for t in range(W)]
    return torch.stack(steps, dim=0)

# %% [alternative ex5_sequence] permute, contiguous, view
def feature_map_to_sequence(fmap):
    N, C, H, W = fmap.size()
    return fmap.permute(3, 0, 1, 2).contiguous().view(W, N, -1)

# %% [alternative ex6_classifier] packs the padded batch: hn at each sequence's last real id
class SequenceClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_classes, padding_idx=0,
                 bidirectional=False):
        super().__init__()
        self.padding_idx = padding_idx
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True,
                            bidirectional=bidirectional)
        self.fc = nn.Linear(hidden_size * (2 if bidirectional else 1), num_classes)

    def forward(self, tokens):
        lengths = (tokens != self.padding_idx).sum(dim=1)      # (N,)
        packed = nn.utils.rnn.pack_padded_sequence(
            self.embedding(tokens), lengths.cpu(), batch_first=True, enforce_sorted=False)
        _, (hn, _) = self.lstm(packed)
        last = torch.cat([hn[-2], hn[-1]], dim=1) if self.lstm.bidirectional else hn[-1]
        return self.fc(last)

# %% [alternative ex6_classifier] the final state read from output, keywords spelled out
class SequenceClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_classes, padding_idx=0,
                 bidirectional=False):
        super().__init__()
        self.bidirectional = bidirectional
        self.hidden_size = hidden_size
        self.embedding = nn.Embedding(num_embeddings=vocab_size,
                                      embedding_dim=embedding_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(input_size=embedding_dim, hidden_size=hidden_size,
                            num_layers=1, bias=True, batch_first=True,
                            bidirectional=bidirectional)
        self.fc = nn.Linear(in_features=(1 + int(bidirectional)) * hidden_size,
                            out_features=num_classes, bias=True)

    def forward(self, tokens):
        output, _ = self.lstm(self.embedding(tokens))          # (N, L, D * H)
        if not self.bidirectional:
            return self.fc(output[:, -1, :])
        H = self.hidden_size
        return self.fc(torch.cat([output[:, -1, :H], output[:, 0, H:]], dim=1))

# %% [alternative ex6_classifier] the directions put side by side with transpose and reshape
class SequenceClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_classes, padding_idx=0,
                 bidirectional=False):
        super(SequenceClassifier, self).__init__()
        directions = 2 if bidirectional else 1
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, 1, batch_first=True,
                            bidirectional=bidirectional)
        self.fc = nn.Linear(directions * hidden_size, num_classes)

    def forward(self, tokens):
        _, (hn, cn) = self.lstm(self.embedding(tokens))        # hn: (D, N, H)
        last = hn.transpose(0, 1).reshape(tokens.size(0), -1)  # (N, D * H), forward first
        return self.fc(last)

# %% [alternative ex7_predict_shapes] lists instead of tuples
output_shape = [8, 12, 32]
hn_shape = [6, 8, 16]
backward_last_step = 0

# %% [alternative ex7_predict_shapes] the numbers as arithmetic, a torch.Size, a negative step
output_shape = torch.Size([8, 12, 2 * 16])
hn_shape = (3 * 2, 8, 16)
backward_last_step = -12

# %% [alternative ex8_fix_tagger] keeps the LSTM time first and transposes in and out
class Tagger(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_tags):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size)
        self.fc = nn.Linear(hidden_size, num_tags)

    def forward(self, tokens):
        X = self.embedding(tokens).transpose(0, 1)        # (L, N, E)
        output, _ = self.lstm(X)                          # (L, N, H)
        return self.fc(output.transpose(0, 1))            # (N, L, num_tags)


def tagging_loss(net, tokens, tags):
    return F.cross_entropy(net(tokens).transpose(1, 2), tags)

# %% [alternative ex8_fix_tagger] every step flattened into a batch of its own
class Tagger(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_tags):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(input_size=embedding_dim, hidden_size=hidden_size,
                            num_layers=1, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_tags)

    def forward(self, tokens):
        output, (hn, cn) = self.lstm(self.embedding(tokens))
        return self.fc(output)


def tagging_loss(net, tokens, tags):
    logits = net(tokens)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tags.reshape(-1))

# %% [alternative ex8_fix_tagger] movedim, and a loss object built once
loss_fn = nn.CrossEntropyLoss()


class Tagger(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_size, num_tags):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_size, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_tags)

    def forward(self, tokens):
        return self.fc(self.lstm(self.embedding(tokens))[0])


def tagging_loss(net, tokens, tags):
    return loss_fn(net(tokens).movedim(-1, 1), tags)
