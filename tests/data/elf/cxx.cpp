// SPDX-License-Identifier: MIT
/*
 * C++ target for demangling and glob tests: nested namespaces, a class with overloads, const
 * methods, operators, constructors/destructors, function and class templates, an anonymous
 * namespace and an extern "C" function. Built at -O0 so every function keeps its own symbol.
 */
#include <cstdio>
#include <cstdlib>

#include "marker.h"

BT_DEFINE_MARKER(cxx_marker);

namespace bt {
namespace rag {

class Retriever {
public:
	explicit Retriever(int k) : k_(k)
	{
	}
	~Retriever()
	{
		k_ = 0;
	}
	int retrieve(int q) const;
	int retrieve(const char *q) const;
	int retrieve(int q, double w);
	static int count();
	Retriever &operator<<(int v);
	bool operator<(const Retriever &o) const;
	int operator()(int x);

private:
	int k_;
};

int Retriever::retrieve(int q) const
{
	return q + k_;
}

int Retriever::retrieve(const char *q) const
{
	return q[0] + k_;
}

int Retriever::retrieve(int q, double w)
{
	return (int)(q * w) + k_;
}

int Retriever::count()
{
	return 42;
}

Retriever &Retriever::operator<<(int v)
{
	k_ += v;
	return *this;
}

bool Retriever::operator<(const Retriever &o) const
{
	return k_ < o.k_;
}

int Retriever::operator()(int x)
{
	return x * k_;
}

template <typename T> T score(T a, T b)
{
	return a * b;
}

template int score<int>(int, int);
template double score<double>(double, double);

template <typename T> class Cache {
public:
	T get(int i) const
	{
		return (T)i;
	}
};

template class Cache<long>;

} // namespace rag

int top_level(int x)
{
	return x + 1;
}

} // namespace bt

namespace {
__attribute__((noinline)) int anon_helper(int x)
{
	return x - 1;
}
} // namespace

extern "C" int c_linkage_fn(int x)
{
	return anon_helper(x) + 2;
}

int main(int argc, char **argv)
{
	bt::rag::Retriever r(argc > 1 ? atoi(argv[1]) : 1);
	bt::rag::Retriever other(2);
	bt::rag::Cache<long> cache;
	auto lambda = [&](int v) { return r.retrieve(v) + 1; };
	int n = r.retrieve(1) + r.retrieve("x") + r.retrieve(2, 1.5) + bt::rag::Retriever::count();

	r << 3;
	n += (r < other) + r(2) + bt::rag::score(2, 3) + (int)bt::rag::score(1.5, 2.0);
	n += (int)cache.get(4) + bt::top_level(n) + c_linkage_fn(n) + lambda(5);
	std::printf("%d\n", n);
	return 0;
}
