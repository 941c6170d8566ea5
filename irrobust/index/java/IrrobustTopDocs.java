// irrobust's one piece of Java: copies Lucene search results into primitive arrays, so that Python reads a
// whole result list in one JNI call instead of one call per hit (see irrobust/index/lucene_direct.py).
// Compiled on first use with the JDK's javac into irrobust's cache; without javac the same results come
// through the slower per-hit path.
import org.apache.lucene.index.IndexReader;
import org.apache.lucene.index.StoredFields;
import org.apache.lucene.search.IndexSearcher;
import org.apache.lucene.search.Query;
import org.apache.lucene.search.Sort;
import org.apache.lucene.search.TopDocs;

public final class IrrobustTopDocs {
  private IrrobustTopDocs() {}

  /** The top k hits of a query under a sort: internal doc ids followed by Float.floatToRawIntBits(score). */
  public static int[] search(IndexSearcher searcher, Query query, int k, Sort sort) throws java.io.IOException {
    TopDocs top = searcher.search(query, k, sort, true);
    int n = top.scoreDocs.length;
    int[] out = new int[2 * n];
    for (int i = 0; i < n; i++) {
      out[i] = top.scoreDocs[i].doc;
      out[n + i] = Float.floatToRawIntBits(top.scoreDocs[i].score);
    }
    return out;
  }

  /** The stored value of a field for every internal doc id (null for deleted or missing). */
  public static String[] storedField(IndexReader reader, String field) throws java.io.IOException {
    StoredFields stored = reader.storedFields();
    String[] out = new String[reader.maxDoc()];
    for (int i = 0; i < out.length; i++) {
      out[i] = stored.document(i).get(field);
    }
    return out;
  }
}
